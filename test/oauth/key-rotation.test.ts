import { describe, expect, it } from 'vitest';
import { FrozenClock } from '../../src/lib/clock.js';
import { testApp } from '../helpers/app.js';

/** Automatic rotation on TESSERA_KEY_ROTATION_DAYS, and the life of a retired key. */
describe('signing key schedule', () => {
  it('publishes the next key before it signs, rotates on schedule, and drops a retired key once its tokens expired', async () => {
    const clock = new FrozenClock(Date.UTC(2026, 0, 1));
    const app = await testApp({ clock, env: { TESSERA_KEY_ROTATION_DAYS: '30' } });
    try {
      const keys = app.tessera.keys;
      const published = () =>
        keys
          .jwks()
          .keys.filter((k) => k.alg === 'ES256')
          .map((k) => k.kid);
      const first = keys.signingKey('ES256').kid;
      expect(published()).toHaveLength(2);
      const next = published().find((kid) => kid !== first)!;

      clock.advance(29 * 86400);
      await keys.refresh();
      expect(keys.signingKey('ES256').kid).toBe(first);

      clock.advance(2 * 86400);
      await keys.refresh();
      // The standby that was published 31 days ago signs now; the old key stays published.
      expect(keys.signingKey('ES256').kid).toBe(next);
      expect(published()).toContain(first);
      expect(published()).toHaveLength(3);

      // After the longest token lifetime (+ margin), the retired key leaves the JWKS.
      clock.advance(3600 + 301);
      await keys.refresh();
      expect(published()).not.toContain(first);
      expect(published()).toHaveLength(2);
    } finally {
      await app.close();
    }
  });

  it('keeps private keys encrypted at rest', async () => {
    const app = await testApp();
    try {
      const rows = await app.tessera.store.keys.list();
      expect(rows.length).toBeGreaterThanOrEqual(6);
      for (const row of rows) {
        expect(row.privateJwk.startsWith('v1.')).toBe(true);
        expect(row.privateJwk).not.toContain('"d"');
        expect(JSON.parse(row.publicJwk).d).toBeUndefined();
      }
    } finally {
      await app.close();
    }
  });

  it('refuses to start with a different instance secret than the keys were sealed with', async () => {
    const { openSqlite } = await import('../helpers/stores.js');
    const opened = await openSqlite();
    const first = await testApp({ store: opened.store });
    await first.close();
    await expect(
      testApp({
        store: opened.store,
        env: { TESSERA_SECRET: 'another-secret-another-secret-another-secret' },
      }),
    ).rejects.toThrow(/TESSERA_SECRET/);
    await opened.cleanup();
  });
});
