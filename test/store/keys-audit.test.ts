import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/types.js';
import { storeFactories, type TestStore } from '../helpers/stores.js';
import { NOW, newKey } from './fixtures.js';

for (const factory of storeFactories()) {
  describe(`${factory.name} store: signing keys and audit events`, () => {
    let testStore: TestStore;
    let store: Store;
    // A fresh store per test: these repositories list everything they hold.
    beforeEach(async () => {
      testStore = await factory.open();
      store = testStore.store;
    });
    afterEach(async () => testStore.cleanup());

    it('inserts keys and lists them oldest first with every field intact', async () => {
      const second = newKey({ createdAt: NOW + 10, alg: 'RS256' });
      const first = newKey({ createdAt: NOW, retiredAt: NOW + 1, expiresAt: NOW + 2 });
      await store.keys.insert(second);
      await store.keys.insert(first);
      expect(await store.keys.list()).toEqual([first, second]);
    });

    it('activates and retires a key', async () => {
      const key = newKey();
      const other = newKey({ createdAt: NOW + 1 });
      await store.keys.insert(key);
      await store.keys.insert(other);
      await store.keys.activate(key.kid, NOW + 5);
      await store.keys.retire(key.kid, NOW + 100, NOW + 3700);
      expect(await store.keys.list()).toEqual([
        { ...key, activatesAt: NOW + 5, retiredAt: NOW + 100, expiresAt: NOW + 3700 },
        other,
      ]);
    });

    it('runs exclusive work one at a time: ten racing "read, then add if missing" add one key', async () => {
      // All ten are begun at once; one inside while another is would show as two inside.
      let inside = 0;
      let most = 0;
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          store.keys.exclusive(async (keys) => {
            inside += 1;
            most = Math.max(most, inside);
            try {
              const existing = await keys.list();
              // A turn of the event loop, in which the others' statements are answered.
              await new Promise((resolve) => setImmediate(resolve));
              if (existing.some((k) => k.alg === 'EdDSA')) return false;
              await keys.insert(newKey({ alg: 'EdDSA', createdAt: NOW + i }));
              return true;
            } finally {
              inside -= 1;
            }
          }),
        ),
      );
      expect(most).toBe(1);
      expect(results.filter(Boolean)).toHaveLength(1);
      expect((await store.keys.list()).filter((k) => k.alg === 'EdDSA')).toHaveLength(1);
    });

    it('undoes exclusive work that fails', async () => {
      const key = newKey();
      await expect(
        store.keys.exclusive(async (keys) => {
          await keys.insert(key);
          throw new Error('changed my mind');
        }),
      ).rejects.toThrow('changed my mind');
      expect(await store.keys.list()).toEqual([]);
    });

    it('refuses two keys with the same kid', async () => {
      const key = newKey();
      await store.keys.insert(key);
      await expect(store.keys.insert({ ...key })).rejects.toThrow();
    });

    it('records audit events and lists them newest first, by user and with a limit', async () => {
      const events = [
        {
          type: 'user.created',
          userId: 'u1',
          clientId: null,
          ip: '192.0.2.1',
          details: { via: 'signup', nested: { ok: true, n: [1, 2] } },
          createdAt: NOW,
        },
        {
          type: 'client.created',
          userId: null,
          clientId: 'c1',
          ip: null,
          details: null,
          createdAt: NOW + 1,
        },
        {
          type: 'user.signed_in',
          userId: 'u1',
          clientId: 'c1',
          ip: '::1',
          details: {},
          createdAt: NOW + 2,
        },
        {
          type: 'user.signed_in',
          userId: 'u2',
          clientId: null,
          ip: null,
          details: null,
          createdAt: NOW + 3,
        },
      ];
      for (const event of events) await store.audit.record(event);

      const all = await store.audit.list({ limit: 10 });
      expect(all.map(({ id: _id, ...rest }) => rest)).toEqual([...events].reverse());
      expect(all.every((e) => typeof e.id === 'number')).toBe(true);
      expect(new Set(all.map((e) => e.id)).size).toBe(4);

      const mine = await store.audit.list({ limit: 10, userId: 'u1' });
      expect(mine.map((e) => e.type)).toEqual(['user.signed_in', 'user.created']);
      expect(mine[1]?.details).toEqual({ via: 'signup', nested: { ok: true, n: [1, 2] } });

      expect((await store.audit.list({ limit: 2 })).map((e) => e.createdAt)).toEqual([
        NOW + 3,
        NOW + 2,
      ]);
      expect(await store.audit.list({ limit: 10, userId: 'nobody' })).toEqual([]);
    });
  });
}
