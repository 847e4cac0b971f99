import { defineConfig } from 'vitest/config';

// Two projects: `unit` (pure logic, next to the code) and `integration` (real etcd, kube-apiserver,
// kube-controller-manager, nats-server and the pod runner, started once by the global setup).
export default defineConfig({
  test: {
    reporters: ['default'],
    projects: [
      {
        test: {
          name: 'unit',
          include: [
            'contracts/**/*.test.ts',
            'operator/**/*.test.ts',
            'runtimes/**/*.test.ts',
            'test/cluster/**/*.test.ts',
          ],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/integration/globalSetup.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          // No retries: a test that cannot pass reliably on a loaded 2-core machine is fixed, not retried.
          fileParallelism: false,
        },
      },
    ],
  },
});
