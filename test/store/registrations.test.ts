import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '../../src/lib/hash.js';
import { randomId, randomToken } from '../../src/lib/random.js';
import type { InitialAccessToken, Store } from '../../src/store/types.js';
import { storeFactories, type TestStore } from '../helpers/stores.js';
import { NOW, newClient } from './fixtures.js';

function newInitialToken(overrides: Partial<InitialAccessToken> = {}): InitialAccessToken {
  return {
    id: randomId(),
    tokenHash: sha256(randomToken()),
    createdAt: NOW,
    expiresAt: NOW + 3600,
    usesLeft: 2,
    ...overrides,
  };
}

for (const factory of storeFactories()) {
  describe(`${factory.name} store: dynamic registration`, () => {
    let testStore: TestStore;
    let store: Store;
    beforeAll(async () => {
      testStore = await factory.open();
      store = testStore.store;
    });
    afterAll(async () => testStore.cleanup());

    it('keeps initial access tokens as written, found by hash, listed and deleted', async () => {
      const token = newInitialToken({ expiresAt: null, usesLeft: null });
      await store.registrations.createInitialToken(token);
      expect(await store.registrations.findInitialToken(token.tokenHash)).toEqual(token);
      expect(await store.registrations.listInitialTokens()).toContainEqual(token);
      expect(await store.registrations.deleteInitialToken(token.id)).toBe(true);
      expect(await store.registrations.deleteInitialToken(token.id)).toBe(false);
      expect(await store.registrations.findInitialToken(token.tokenHash)).toBeUndefined();
    });

    it('spends uses down to 0, and never an expired token', async () => {
      const token = newInitialToken();
      await store.registrations.createInitialToken(token);
      const spend = () => store.registrations.spendInitialToken(token.tokenHash, NOW + 1);
      expect((await spend())?.usesLeft).toBe(1);
      expect((await spend())?.usesLeft).toBe(0);
      expect(await spend()).toBeUndefined();
      const expiring = newInitialToken({ usesLeft: null });
      await store.registrations.createInitialToken(expiring);
      expect(
        (await store.registrations.spendInitialToken(expiring.tokenHash, NOW + 3599))?.usesLeft,
      ).toBeNull();
      expect(
        await store.registrations.spendInitialToken(expiring.tokenHash, NOW + 3600),
      ).toBeUndefined();
      expect(await store.registrations.spendInitialToken(sha256('unknown'), NOW)).toBeUndefined();
    });

    it('gives the last use to exactly one of ten concurrent spenders', async () => {
      const token = newInitialToken({ usesLeft: 1 });
      await store.registrations.createInitialToken(token);
      const results = await Promise.all(
        Array.from({ length: 10 }, () =>
          store.registrations.spendInitialToken(token.tokenHash, NOW + 1),
        ),
      );
      expect(results.filter((r) => r !== undefined)).toHaveLength(1);
    });

    it('keeps a client’s registration record until the client is deleted', async () => {
      const client = await store.clients.create(newClient({ registration: 'dynamic' }));
      const record = {
        clientId: client.id,
        accessTokenHash: sha256(randomToken()),
        applicationType: 'native' as const,
      };
      await store.registrations.saveRecord(record);
      expect(await store.registrations.findRecord(client.id)).toEqual(record);
      expect(await store.registrations.setApplicationType(client.id, 'web')).toBe(true);
      expect((await store.registrations.findRecord(client.id))?.applicationType).toBe('web');
      expect(await store.registrations.setApplicationType('nobody', 'web')).toBe(false);
      await store.clients.delete(client.id);
      expect(await store.registrations.findRecord(client.id)).toBeUndefined();
    });
  });
}
