import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // The kit's public entry point (package.json "exports") from its sources: Vite does not
    // resolve a package's imports of itself, and the tests must not run a stale dist/.
    alias: {
      'tessera/resource': fileURLToPath(new URL('./src/resource/index.ts', import.meta.url)),
    },
  },
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
