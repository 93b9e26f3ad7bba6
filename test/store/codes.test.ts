import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/types.js';
import { storeFactories, type TestStore } from '../helpers/stores.js';
import { NOW, newCode, newSession, newToken, seedGrant } from './fixtures.js';

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

    it('finds a code with its person, spending nothing', async () => {
      // No session: a code is backed by its grant and, when it has one, by its session.
      const code = newCode(owner, { sessionId: null });
      await store.codes.save(code);
      expect(await store.codes.findWithUser(code.id)).toEqual({
        code,
        user: await store.users.findById(owner.userId),
        backed: true,
      });
      expect(await store.codes.findWithUser(code.id)).toMatchObject({ code, backed: true });
      const orphan = newCode({ ...owner, userId: 'no-such-person' }, { sessionId: null });
      await store.codes.save(orphan);
      expect(await store.codes.findWithUser(orphan.id)).toEqual({
        code: orphan,
        user: undefined,
        backed: true,
      });
      expect(await store.codes.findWithUser('no-such-code')).toBeUndefined();
    });

    it('says whether a code is still backed by its grant and its live session', async () => {
      const session = newSession(owner.userId);
      await store.sessions.create(session);
      const live = newCode(owner, { sessionId: session.id });
      await store.codes.save(live);
      expect((await store.codes.findWithUser(live.id))?.backed).toBe(true);

      // Saved after the session ended, as an instance that still had it in memory would.
      expect(await store.sessions.end(session.id, NOW)).toBe(true);
      const afterEnd = newCode(owner, { sessionId: session.id });
      await store.codes.save(afterEnd);
      expect((await store.codes.findWithUser(afterEnd.id))?.backed).toBe(false);
      const noSession = newCode(owner, { sessionId: 'no-such-session' });
      await store.codes.save(noSession);
      expect((await store.codes.findWithUser(noSession.id))?.backed).toBe(false);

      // The same after the grant was revoked.
      expect(await store.grants.revoke(owner.grantId, NOW)).toBe(true);
      const afterRevoke = newCode(owner, { sessionId: null });
      await store.codes.save(afterRevoke);
      expect((await store.codes.findWithUser(afterRevoke.id))?.backed).toBe(false);
    });

    it('redeems a code once, storing its tokens in the same commit', async () => {
      const code = newCode(owner);
      await store.codes.save(code);
      const issued = (count: number) =>
        Array.from({ length: count }, () => newToken(owner, { familyId: code.familyId }));
      const tokens = issued(2);
      expect(
        await store.codes.redeem({ id: code.id, clientId: owner.clientId, now: NOW + 1, tokens }),
      ).toEqual({ status: 'consumed', code: { ...code, consumedAt: NOW + 1 } });
      for (const t of tokens) expect(await store.tokens.find(t.id)).toEqual(t);
      // A second redemption is a replay, and stores nothing.
      const again = issued(1);
      expect(
        await store.codes.redeem({
          id: code.id,
          clientId: owner.clientId,
          now: NOW + 2,
          tokens: again,
        }),
      ).toEqual({ status: 'reused', code: { ...code, consumedAt: NOW + 1 } });
      expect(await store.tokens.find(again[0]!.id)).toBeUndefined();
      // With no tokens, or three: the other shapes of the same operation.
      for (const count of [0, 3]) {
        const other = newCode(owner);
        await store.codes.save(other);
        const more = issued(count);
        const result = await store.codes.redeem({
          id: other.id,
          clientId: owner.clientId,
          now: NOW,
          tokens: more,
        });
        expect(result.status).toBe('consumed');
        for (const t of more) expect(await store.tokens.find(t.id)).toEqual(t);
      }
    });

    it("stores nothing for a code it does not consume: another client's, expired or unknown", async () => {
      const code = newCode(owner, { expiresAt: NOW + 60 });
      await store.codes.save(code);
      const redeem = (id: string, clientId: string, now: number) => {
        const tokens = [newToken(owner)];
        return store.codes
          .redeem({ id, clientId, now, tokens })
          .then(async (result) => ({ result, stored: await store.tokens.find(tokens[0]!.id) }));
      };
      expect(await redeem(code.id, 'another-client', NOW + 1)).toEqual({
        result: { status: 'other_client' },
        stored: undefined,
      });
      expect(await redeem(code.id, owner.clientId, NOW + 60)).toEqual({
        result: { status: 'expired' },
        stored: undefined,
      });
      expect(await redeem('no-such-code', owner.clientId, NOW)).toEqual({
        result: { status: 'missing' },
        stored: undefined,
      });
      expect((await store.codes.findWithUser(code.id))?.code.consumedAt).toBeNull();
    });

    it('consumes nothing when the tokens cannot be stored', async () => {
      const code = newCode(owner);
      await store.codes.save(code);
      const taken = newToken(owner);
      await store.tokens.save(taken);
      const fresh = newToken(owner);
      await expect(
        store.codes.redeem({
          id: code.id,
          clientId: owner.clientId,
          now: NOW + 1,
          tokens: [fresh, { ...taken }],
        }),
      ).rejects.toThrow();
      expect((await store.codes.findWithUser(code.id))?.code.consumedAt).toBeNull();
      expect(await store.tokens.find(fresh.id)).toBeUndefined();
    });

    it('of ten concurrent redemptions one consumes the code, and only its tokens are stored', async () => {
      const code = newCode(owner);
      await store.codes.save(code);
      const batches = Array.from({ length: 10 }, () => [
        newToken(owner, { familyId: code.familyId, kind: 'access' }),
        newToken(owner, { familyId: code.familyId }),
      ]);
      const results = await Promise.all(
        batches.map((tokens) =>
          store.codes.redeem({ id: code.id, clientId: owner.clientId, now: NOW + 1, tokens }),
        ),
      );
      const statuses = results.map((r) => r.status);
      expect(statuses.filter((s) => s === 'consumed')).toHaveLength(1);
      expect(statuses.filter((s) => s === 'reused')).toHaveLength(9);
      const winner = batches[statuses.indexOf('consumed')]!;
      for (const t of batches.flat()) {
        expect(await store.tokens.find(t.id)).toEqual(winner.includes(t) ? t : undefined);
      }
      // What a loser does on seeing 'reused': the winner's tokens are already stored, and end.
      expect(await store.tokens.revokeFamily(code.familyId, NOW + 2)).toBe(2);
    });

    it('refuses to save two codes with the same hash', async () => {
      const code = newCode(owner);
      await store.codes.save(code);
      await expect(store.codes.save({ ...code })).rejects.toThrow();
    });
  });
}
