import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomToken } from '../../src/lib/random.js';
import type { PushedRequest, Store } from '../../src/store/types.js';
import { storeFactories, type TestStore } from '../helpers/stores.js';
import { NOW, newClient } from './fixtures.js';

function newPushed(overrides: Partial<PushedRequest> = {}): PushedRequest {
  return {
    id: randomToken(),
    clientId: 'client-a',
    parameters: { response_type: 'code', client_id: 'client-a', scope: 'openid', state: 'é 💡' },
    createdAt: NOW,
    expiresAt: NOW + 60,
    startedAt: null,
    finishedAt: null,
    ...overrides,
  };
}

for (const factory of storeFactories()) {
  describe(`${factory.name} store: pushed authorization requests`, () => {
    let testStore: TestStore;
    let store: Store;
    beforeAll(async () => {
      testStore = await factory.open();
      store = testStore.store;
    });
    afterAll(async () => testStore.cleanup());

    it('starts a request once, with its parameters intact, and lives on until resumeUntil', async () => {
      const pushed = newPushed();
      await store.pushedRequests.save(pushed);
      expect(await store.pushedRequests.start(pushed.id, 'client-a', NOW + 5, NOW + 1805)).toEqual({
        status: 'ok',
        request: { ...pushed, startedAt: NOW + 5, expiresAt: NOW + 1805 },
      });
      expect(await store.pushedRequests.start(pushed.id, 'client-a', NOW + 6, NOW + 1806)).toEqual({
        status: 'used',
      });
      const resumed = await store.pushedRequests.resume(pushed.id, 'client-a', NOW + 1804);
      expect(resumed.status).toBe('ok');
      expect(await store.pushedRequests.resume(pushed.id, 'client-a', NOW + 1805)).toEqual({
        status: 'expired',
      });
    });

    it('starts until one second before expiry, not at it', async () => {
      const edge = newPushed();
      const late = newPushed();
      await store.pushedRequests.save(edge);
      await store.pushedRequests.save(late);
      expect(
        (await store.pushedRequests.start(edge.id, 'client-a', NOW + 59, NOW + 999)).status,
      ).toBe('ok');
      expect(await store.pushedRequests.start(late.id, 'client-a', NOW + 60, NOW + 999)).toEqual({
        status: 'expired',
      });
    });

    it("leaves another client's request as it was, and says missing for an unknown one", async () => {
      const pushed = newPushed();
      await store.pushedRequests.save(pushed);
      expect(await store.pushedRequests.start(pushed.id, 'client-b', NOW, NOW + 1800)).toEqual({
        status: 'other_client',
      });
      expect(
        (await store.pushedRequests.start(pushed.id, 'client-a', NOW, NOW + 1800)).status,
      ).toBe('ok');
      expect(await store.pushedRequests.resume(pushed.id, 'client-b', NOW)).toEqual({
        status: 'other_client',
      });
      expect(await store.pushedRequests.start('nope', 'client-a', NOW, NOW + 1800)).toEqual({
        status: 'missing',
      });
    });

    it('resumes only a started request, and finishes it once', async () => {
      const pushed = newPushed();
      await store.pushedRequests.save(pushed);
      expect(await store.pushedRequests.resume(pushed.id, 'client-a', NOW)).toEqual({
        status: 'missing',
      });
      expect(await store.pushedRequests.finish(pushed.id, NOW)).toBe(false);
      await store.pushedRequests.start(pushed.id, 'client-a', NOW, NOW + 1800);
      expect(await store.pushedRequests.finish(pushed.id, NOW + 1)).toBe(true);
      expect(await store.pushedRequests.finish(pushed.id, NOW + 2)).toBe(false);
      expect(await store.pushedRequests.resume(pushed.id, 'client-a', NOW + 3)).toEqual({
        status: 'used',
      });
    });

    it('gives a request to one of ten concurrent starts, and finishes it for one of ten', async () => {
      const pushed = newPushed();
      await store.pushedRequests.save(pushed);
      const starts = await Promise.all(
        Array.from({ length: 10 }, () =>
          store.pushedRequests.start(pushed.id, 'client-a', NOW, NOW + 1800),
        ),
      );
      expect(starts.filter((r) => r.status === 'ok')).toHaveLength(1);
      expect(starts.filter((r) => r.status === 'used')).toHaveLength(9);
      const finishes = await Promise.all(
        Array.from({ length: 10 }, () => store.pushedRequests.finish(pushed.id, NOW)),
      );
      expect(finishes.filter(Boolean)).toHaveLength(1);
    });

    it('is deleted with its client', async () => {
      const client = await store.clients.create(newClient());
      const pushed = newPushed({ clientId: client.id });
      await store.pushedRequests.save(pushed);
      expect(await store.clients.delete(client.id)).toBe(true);
      expect(await store.pushedRequests.start(pushed.id, client.id, NOW, NOW + 1800)).toEqual({
        status: 'missing',
      });
    });

    it('is purged ten minutes after it expires', async () => {
      const gone = newPushed({ expiresAt: NOW - 601 });
      const kept = newPushed({ expiresAt: NOW - 599 });
      await store.pushedRequests.save(gone);
      await store.pushedRequests.save(kept);
      const counts = await store.purgeExpired(NOW);
      expect(counts.pushedRequests).toBeGreaterThanOrEqual(1);
      expect(await store.pushedRequests.start(gone.id, 'client-a', NOW, NOW)).toEqual({
        status: 'missing',
      });
      expect(await store.pushedRequests.start(kept.id, 'client-a', NOW, NOW)).toEqual({
        status: 'expired',
      });
    });
  });
}
