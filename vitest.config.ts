import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores in CI: more forks than that only adds contention to the thread and TCP tests.
    maxWorkers: 2,
  },
});
