// Two projects: `unit` (pure code, no servers) and `stack` (real Redis, Kubernetes, Prometheus
// and Alertmanager from the local stack, started once by the global setup).
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    reporters: ['default'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
        },
      },
      {
        test: {
          name: 'stack',
          include: ['test/stack/**/*.test.ts', 'test/integration/**/*.test.ts'],
          globalSetup: ['test/stack/global-setup.ts'],
          testTimeout: 180_000,
          hookTimeout: 180_000,
          // One stack is shared: files run one after another so timings stay meaningful on 2 cores.
          fileParallelism: false,
        },
      },
    ],
  },
});
