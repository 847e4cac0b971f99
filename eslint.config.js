import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', '.prognos-env/**', 'charts/**', 'crds/**', 'config/**'] },
  js.configs.recommended,
  ...tseslint.configs.strict,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  // Module boundaries: the operator and the runtimes share only contracts/ (wire formats, the runtime
  // config, the ONNX artifact codec); contracts/ depends on neither.
  {
    files: ['operator/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['**/runtimes/**'], message: 'The operator imports contracts/, never a runtime.' },
          ],
        },
      ],
    },
  },
  {
    files: ['contracts/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/operator/**', '**/runtimes/**'],
              message: 'contracts/ is shared: it imports neither side.',
            },
          ],
        },
      ],
    },
  },
);
