import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/types.js';
import { storeFactories, type TestStore } from '../helpers/stores.js';
import { NOW, newToken, seedGrant } from './fixtures.js';

for (const factory of storeFactories()) {
  describe(`${factory.name} store: tokens`, () => {
    let testStore: TestStore;
    let store: Store;
    let owner: Awaited<ReturnType<typeof seedGrant>>;
    beforeAll(async () => {
      testStore = await factory.open();
      store = testStore.store;
      owner = await seedGrant(store);
    });
    afterAll(async () => testStore.cleanup());

    it('saves a refresh token and finds it with every field intact', async () => {
      const token = newToken(owner);
      await store.tokens.save(token);
      expect(await store.tokens.find(token.id)).toEqual(token);
    });

    it('finds a token with its person in one lookup, and a client token without one', async () => {
      const token = newToken(owner);
      await store.tokens.save(token);
      const found = await store.tokens.findWithUser(token.id);
      expect(found?.token).toEqual(token);
      expect(found?.user).toEqual(await store.users.findById(owner.userId));
      const own = newToken({ clientId: owner.clientId, userId: null, grantId: null });
      await store.tokens.save(own);
      expect(await store.tokens.findWithUser(own.id)).toEqual({ token: own, user: undefined });
      expect(await store.tokens.findWithUser('no-such-token')).toBeUndefined();
    });

    it('saves several tokens at once, all or none', async () => {
      const pair = [newToken(owner), newToken(owner, { kind: 'access', format: 'jwt' })];
      await store.tokens.saveAll(pair);
      for (const token of pair) expect(await store.tokens.find(token.id)).toEqual(token);
      const three = [newToken(owner), newToken(owner), newToken(owner)];
      await store.tokens.saveAll(three);
      for (const token of three) expect(await store.tokens.find(token.id)).toEqual(token);
      // The second shares the first's id: neither is stored.
      const clash = newToken(owner);
      await expect(
        store.tokens.saveAll([clash, { ...newToken(owner), id: pair[0]!.id }]),
      ).rejects.toThrow();
      expect(await store.tokens.find(clash.id)).toBeUndefined();
      await store.tokens.saveAll([]);
    });

    it('round-trips a client_credentials access token with nulls', async () => {
      const token = newToken(
        { clientId: owner.clientId, userId: null, grantId: null },
        {
          kind: 'access',
          format: 'jwt',
          familyId: null,
          sessionId: null,
          audience: null,
          authTime: null,
          acr: null,
          amr: null,
          claims: null,
          familyExpiresAt: null,
          scope: '',
        },
      );
      await store.tokens.save(token);
      expect(await store.tokens.find(token.id)).toEqual(token);
      expect(await store.tokens.find('no-such-token')).toBeUndefined();
    });

    it('rotates a refresh token once, then answers stale', async () => {
      const token = newToken(owner);
      await store.tokens.save(token);
      expect(await store.tokens.rotate({ id: token.id, successors: [], now: NOW + 5 })).toEqual({
        status: 'rotated',
        token: { ...token, rotatedAt: NOW + 5 },
      });
      expect(await store.tokens.rotate({ id: token.id, successors: [], now: NOW + 6 })).toEqual({
        status: 'stale',
        token: { ...token, rotatedAt: NOW + 5 },
      });
    });

    it('lets exactly one of ten concurrent rotations win', async () => {
      const token = newToken(owner);
      await store.tokens.save(token);
      const results = await Promise.all(
        Array.from({ length: 10 }, () =>
          store.tokens.rotate({ id: token.id, successors: [], now: NOW + 1 }),
        ),
      );
      const statuses = results.map((r) => r.status);
      expect(statuses.filter((s) => s === 'rotated')).toHaveLength(1);
      expect(statuses.filter((s) => s === 'stale')).toHaveLength(9);
    });

    it('answers stale for a revoked refresh token and missing for an access token or none', async () => {
      const revoked = newToken(owner, { revokedAt: NOW });
      await store.tokens.save(revoked);
      expect(await store.tokens.rotate({ id: revoked.id, successors: [], now: NOW + 1 })).toEqual({
        status: 'stale',
        token: revoked,
      });
      const access = newToken(owner, { kind: 'access' });
      await store.tokens.save(access);
      expect(await store.tokens.rotate({ id: access.id, successors: [], now: NOW + 1 })).toEqual({
        status: 'missing',
      });
      expect((await store.tokens.find(access.id))?.rotatedAt).toBeNull();
      expect(await store.tokens.rotate({ id: 'no-such-token', successors: [], now: NOW })).toEqual({
        status: 'missing',
      });
    });

    it('stores the successors in the commit that spends the presented token', async () => {
      const familyId = `family-${Math.random()}`;
      const presented = newToken(owner, { familyId });
      await store.tokens.save(presented);
      const successors = [
        newToken(owner, { familyId, kind: 'access' }),
        newToken(owner, { familyId }),
      ];
      expect(await store.tokens.rotate({ id: presented.id, successors, now: NOW + 5 })).toEqual({
        status: 'rotated',
        token: { ...presented, rotatedAt: NOW + 5 },
      });
      for (const t of successors) expect(await store.tokens.find(t.id)).toEqual(t);
      // One successor, or three: the other shapes of the same statement.
      let current = successors[1]!;
      for (const count of [1, 3]) {
        const next = Array.from({ length: count }, () => newToken(owner, { familyId }));
        const rotated = await store.tokens.rotate({
          id: current.id,
          successors: next,
          now: NOW + 6,
        });
        expect(rotated).toEqual({ status: 'rotated', token: { ...current, rotatedAt: NOW + 6 } });
        for (const t of next) expect(await store.tokens.find(t.id)).toEqual(t);
        current = next[0]!;
      }
    });

    it('stores the successors of a stale token too, for the caller to hand out or revoke', async () => {
      const familyId = `family-${Math.random()}`;
      const presented = newToken(owner, { familyId, rotatedAt: NOW });
      await store.tokens.save(presented);
      const successor = newToken(owner, { familyId });
      expect(
        await store.tokens.rotate({ id: presented.id, successors: [successor], now: NOW + 5 }),
      ).toEqual({ status: 'stale', token: presented });
      expect(await store.tokens.find(successor.id)).toEqual(successor);
      expect(await store.tokens.revokeFamily(familyId, NOW + 6)).toBe(2);
    });

    it('spends nothing when the successors cannot be stored', async () => {
      const presented = newToken(owner);
      const taken = newToken(owner);
      await store.tokens.saveAll([presented, taken]);
      const fresh = newToken(owner);
      await expect(
        store.tokens.rotate({ id: presented.id, successors: [fresh, { ...taken }], now: NOW + 5 }),
      ).rejects.toThrow();
      expect(await store.tokens.find(presented.id)).toEqual(presented);
      expect(await store.tokens.find(fresh.id)).toBeUndefined();
    });

    it('of ten concurrent rotations with successors one wins, and revoking the family then ends every successor', async () => {
      const familyId = `family-${Math.random()}`;
      const presented = newToken(owner, { familyId });
      await store.tokens.save(presented);
      const batches = Array.from({ length: 10 }, () => [
        newToken(owner, { familyId, kind: 'access' }),
        newToken(owner, { familyId }),
      ]);
      const results = await Promise.all(
        batches.map((successors) =>
          store.tokens.rotate({ id: presented.id, successors, now: NOW + 1 }),
        ),
      );
      const statuses = results.map((r) => r.status);
      expect(statuses.filter((s) => s === 'rotated')).toHaveLength(1);
      expect(statuses.filter((s) => s === 'stale')).toHaveLength(9);
      // What a loser does on seeing 'stale' (RFC 9700 §4.14.2): the winner's successors are
      // already stored, so they end with the family.
      expect(await store.tokens.revokeFamily(familyId, NOW + 2)).toBe(21);
      for (const t of batches.flat())
        expect((await store.tokens.find(t.id))?.revokedAt).toBe(NOW + 2);
    });

    it('revokes a token once and reports whether there was one to revoke', async () => {
      const token = newToken(owner);
      await store.tokens.save(token);
      expect(await store.tokens.revoke(token.id, NOW + 2)).toBe(true);
      expect(await store.tokens.find(token.id)).toEqual({ ...token, revokedAt: NOW + 2 });
      expect(await store.tokens.revoke(token.id, NOW + 3)).toBe(false);
      expect((await store.tokens.find(token.id))?.revokedAt).toBe(NOW + 2);
      expect(await store.tokens.revoke('no-such-token', NOW)).toBe(false);
    });

    it('records the revocation of an unstored token, idempotently', async () => {
      const {
        revokedAt: _r,
        rotatedAt: _o,
        ...jwt
      } = newToken(owner, {
        kind: 'access',
        format: 'jwt',
      });
      await store.tokens.revokeUnstored(jwt, NOW + 4);
      const expected = { ...jwt, rotatedAt: null, revokedAt: NOW + 4 };
      expect(await store.tokens.find(jwt.id)).toEqual(expected);
      await store.tokens.revokeUnstored(jwt, NOW + 8);
      expect(await store.tokens.find(jwt.id)).toEqual(expected);
    });

    it('revokes every live token of one family and nothing else', async () => {
      const familyId = `family-${Math.random()}`;
      const first = newToken(owner, { familyId, rotatedAt: NOW });
      const second = newToken(owner, { familyId });
      const access = newToken(owner, { familyId, kind: 'access', format: 'jwt' });
      const earlier = newToken(owner, { familyId, revokedAt: NOW - 1 });
      const sibling = newToken(owner); // same user, client and grant, another family
      for (const t of [first, second, access, earlier, sibling]) await store.tokens.save(t);

      expect(await store.tokens.revokeFamily(familyId, NOW + 9)).toBe(3);

      for (const t of [first, second, access]) {
        expect((await store.tokens.find(t.id))?.revokedAt).toBe(NOW + 9);
      }
      expect((await store.tokens.find(earlier.id))?.revokedAt).toBe(NOW - 1);
      expect(await store.tokens.find(sibling.id)).toEqual(sibling);
      expect(await store.tokens.revokeFamily(familyId, NOW + 10)).toBe(0);
      expect(await store.tokens.revokeFamily('no-such-family', NOW)).toBe(0);
    });
  });
}
