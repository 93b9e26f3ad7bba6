import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/types.js';
import { storeFactories, type TestStore } from '../helpers/stores.js';
import { NOW, newCode, seedGrant } from './fixtures.js';

for (const factory of storeFactories()) {
  describe(`${factory.name} store: authorization codes`, () => {
    let testStore: TestStore;
    let store: Store;
    let owner: Awaited<ReturnType<typeof seedGrant>>;
    beforeAll(async () => {
      testStore = await factory.open();
      store = testStore.store;
      owner = await seedGrant(store);
    });
    afterAll(async () => testStore.cleanup());

    it('saves a code and consumes it with every field intact', async () => {
      const code = newCode(owner);
      await store.codes.save(code);
      expect(await store.codes.consume(code.id, NOW + 1)).toEqual({
        status: 'consumed',
        code: { ...code, consumedAt: NOW + 1 },
      });
    });

    it('round-trips a code without PKCE, nonce, session, acr, amr or claims', async () => {
      const code = newCode(owner, {
        codeChallenge: null,
        codeChallengeMethod: null,
        nonce: null,
        sessionId: null,
        acr: null,
        amr: null,
        claims: null,
        sessionExpiresAt: null,
      });
      await store.codes.save(code);
      expect(await store.codes.consume(code.id, NOW)).toEqual({
        status: 'consumed',
        code: { ...code, consumedAt: NOW },
      });
    });

    it('answers reused, with the code, to a second consume', async () => {
      const code = newCode(owner);
      await store.codes.save(code);
      await store.codes.consume(code.id, NOW + 1);
      expect(await store.codes.consume(code.id, NOW + 2)).toEqual({
        status: 'reused',
        code: { ...code, consumedAt: NOW + 1 },
      });
    });

    it('lets exactly one of ten concurrent consumes have the code', async () => {
      const code = newCode(owner);
      await store.codes.save(code);
      const results = await Promise.all(
        Array.from({ length: 10 }, () => store.codes.consume(code.id, NOW + 1)),
      );
      const statuses = results.map((r) => r.status);
      expect(statuses.filter((s) => s === 'consumed')).toHaveLength(1);
      expect(statuses.filter((s) => s === 'reused')).toHaveLength(9);
    });

    it('answers expired once the code has expired, and does not consume it', async () => {
      const code = newCode(owner, { expiresAt: NOW + 60 });
      await store.codes.save(code);
      expect(await store.codes.consume(code.id, NOW + 60)).toEqual({ status: 'expired' });
      expect(await store.codes.consume(code.id, NOW + 61)).toEqual({ status: 'expired' });
    });

    it("leaves another client's code unspent, for its own client to redeem", async () => {
      const code = newCode(owner);
      await store.codes.save(code);
      expect(await store.codes.consume(code.id, NOW + 1, 'another-client')).toEqual({
        status: 'other_client',
      });
      expect(await store.codes.consume(code.id, NOW + 2, owner.clientId)).toEqual({
        status: 'consumed',
        code: { ...code, consumedAt: NOW + 2 },
      });
      // Spent or expired, another client is told only that the code is not its own.
      expect(await store.codes.consume(code.id, NOW + 3, 'another-client')).toEqual({
        status: 'other_client',
      });
      expect((await store.codes.consume(code.id, NOW + 3, owner.clientId)).status).toBe('reused');
    });

    it('answers missing for an unknown code', async () => {
      expect(await store.codes.consume('no-such-code', NOW)).toEqual({ status: 'missing' });
    });

    it('refuses to save two codes with the same hash', async () => {
      const code = newCode(owner);
      await store.codes.save(code);
      await expect(store.codes.save({ ...code })).rejects.toThrow();
    });
  });
}
