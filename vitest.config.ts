import { defineConfig } from 'vitest/config';

// Two projects: unit tests are pure logic and run in parallel without root;
// integration tests drive real binaries and share host resources (mounts,
// registry ports, namespaces), so they run one file at a time.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          testTimeout: 10_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
