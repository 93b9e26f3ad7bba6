import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // argon2 and the real servers each test starts want the CPU; two cores here.
    maxWorkers: 2,
    reporters: process.env.CI ? ['default'] : ['default'],
  },
});
