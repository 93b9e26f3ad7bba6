import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/types.js';
import { storeFactories, type TestStore } from '../helpers/stores.js';
import { NOW, unique } from './fixtures.js';

for (const factory of storeFactories()) {
  describe(`${factory.name} store: markers used once`, () => {
    let testStore: TestStore;
    let store: Store;
    beforeAll(async () => {
      testStore = await factory.open();
      store = testStore.store;
    });
    afterAll(async () => testStore.cleanup());

    it('accepts a marker the first time only', async () => {
      const id = `test:${unique()}`;
      expect(await store.markers.use(id, NOW + 60)).toBe(true);
      expect(await store.markers.use(id, NOW + 60)).toBe(false);
      expect(await store.markers.use(`${id}-other`, NOW + 60)).toBe(true);
    });

    it('lets exactly one of ten concurrent uses have a marker', async () => {
      const id = `test:${unique()}`;
      const results = await Promise.all(
        Array.from({ length: 10 }, () => store.markers.use(id, NOW + 60)),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
    });

    it('gives each of several markers asked for at once to exactly one of its uses', async () => {
      // On PostgreSQL these share one insert; on SQLite one commit.
      const ids = Array.from({ length: 5 }, () => `test:${unique()}`);
      const uses = ids.flatMap((id) => [id, id, id, id]);
      const results = await Promise.all(uses.map((id) => store.markers.use(id, NOW + 60)));
      for (const id of ids) {
        expect(results.filter((won, i) => won && uses[i] === id)).toHaveLength(1);
      }
      expect(await store.markers.use(ids[0]!, NOW + 60)).toBe(false);
    });

    it('takes a fractional expiry (JWT times may be), and a thousands-strong turn of markers', async () => {
      const id = `test:${unique()}`;
      expect(await store.markers.use(id, NOW + 60.5)).toBe(true);
      expect(await store.markers.use(id, NOW + 60.5)).toBe(false);
      // More than one insert's worth at once (PostgreSQL sends them in chunks).
      const ids = Array.from({ length: 2500 }, () => `test:${unique()}`);
      const results = await Promise.all(ids.map((m) => store.markers.use(m, NOW + 60)));
      expect(results.every(Boolean)).toBe(true);
    });

    it('forgets markers once they have expired and are purged', async () => {
      const id = `test:${unique()}`;
      await store.markers.use(id, NOW - 1);
      expect((await store.purgeExpired(NOW)).markers).toBeGreaterThanOrEqual(1);
      expect(await store.markers.use(id, NOW + 60)).toBe(true);
    });
  });
}
