import { parseConfig } from '../../src/config.js';
import type { RuntimeConfig } from '../../src/context.js';

export const TEST_SECRET = 'test-secret-test-secret-test-secret-0123456789';
export const TEST_ADMIN_KEY = 'test-admin-key-0123456789abcdef';

/** A configuration for tests: in-memory SQLite, quiet logs, no background jobs; `env` overrides. */
export function testConfig(env: Record<string, string> = {}): RuntimeConfig {
  const config = parseConfig({
    TESSERA_ISSUER: 'http://localhost:9000',
    DATABASE_URL: 'sqlite::memory:',
    TESSERA_SECRET: TEST_SECRET,
    TESSERA_ADMIN_KEY: TEST_ADMIN_KEY,
    LOG_LEVEL: 'silent',
    NODE_ENV: 'test',
    TESSERA_PURGE_INTERVAL: '0',
    ...env,
  });
  return config as RuntimeConfig;
}
