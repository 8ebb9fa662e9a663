import { defineConfig } from 'vitest/config';

// Engine tests run in plain Node. Numerical work is slow on 2 cores, so the
// default per-test timeout is generous; each test still uses tiny data.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: true,
    maxWorkers: 2,
  },
});
