import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../test/cluster/binaries.ts';

// The lint rules of eslint.config.js that keep the operator and the runtimes apart, run on sample
// imports: a broken rule would otherwise pass lint silently.
const eslint = new ESLint({ cwd: repoRoot });

async function restricted(filePath: string, importPath: string): Promise<string[]> {
  const [result] = await eslint.lintText(`import { x } from '${importPath}';\nexport const y = x;\n`, {
    filePath: `${repoRoot}/${filePath}`,
  });
  return result!.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('module boundaries', () => {
  it.each([
    [
      'operator/controllers/maintenanceModel/x.ts',
      '../../../runtimes/inference/runtime.ts',
      /never a runtime/,
    ],
    ['operator/api/x.ts', '../../runtimes/inference/features/windows.ts', /never a runtime/],
    ['contracts/x.ts', '../operator/api/sensorFleet.ts', /imports neither side/],
    ['contracts/x.ts', '../runtimes/inference/runtime.ts', /imports neither side/],
  ])('%s may not import %s', async (file, imported, message) => {
    const messages = await restricted(file, imported);
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatch(message);
  });

  it.each([
    ['operator/api/x.ts', '../../contracts/runtimeConfig.ts'],
    ['operator/controllers/x.ts', '../../contracts/onnx/onnxProto.ts'],
    ['runtimes/inference/x.ts', '../../contracts/split.ts'],
  ])('%s may import %s', async (file, imported) => {
    expect(await restricted(file, imported)).toEqual([]);
  });
});
