import { describe, expect, it } from 'vitest';
import { useTessera } from './process.js';

const start = useTessera();

describe('tessera start with a bad setting', () => {
  it.each<[string, Record<string, string>]>([
    ['PORT', { PORT: 'abc' }],
    ['PORT', { PORT: '70000' }],
    ['TESSERA_ISSUER', { TESSERA_ISSUER: 'ftp://x' }],
    ['TESSERA_ISSUER', { TESSERA_ISSUER: 'not-a-url' }],
    ['TESSERA_ISSUER', { TESSERA_ISSUER: 'https://id.example.com/tenant-a/' }],
    ['TESSERA_ISSUER', { TESSERA_ISSUER: 'https://id.example.com/tenant a' }],
    ['LOG_LEVEL', { LOG_LEVEL: 'loud' }],
    ['DATABASE_URL', { DATABASE_URL: 'mysql://x' }],
    ['TESSERA_SECRET', { TESSERA_SECRET: 'short' }],
    ['TESSERA_SECRET', { NODE_ENV: 'production' }],
    ['TESSERA_SMTP_URL', { NODE_ENV: 'production', TESSERA_SECRET: 'x'.repeat(40) }],
    ['DATABASE_URL', { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none' }],
  ])(
    'exits with 1 and one line naming %s (%j), and never says it listens',
    async (variable, env) => {
      const tessera = await start(env);
      expect(await tessera.exited).toBe(1);
      const lines = tessera.stderr().trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(new RegExp(`^tessera: ${variable}: \\S`));
      expect(tessera.stdout()).not.toContain('Tessera is running');
      expect(tessera.stdout()).not.toContain('Listening on');
    },
  );

  it('exits with 1 and one line naming PORT when the port is taken', async () => {
    const first = await start();
    await first.ready();
    // Taken for sure: the first server holds it.
    const second = await start({ PORT: String(first.port) });
    expect(await second.exited).toBe(1);
    expect(second.stderr().trim()).toMatch(/^tessera: PORT: 127\.0\.0\.1:\d+ is already in use$/);
  });
});
