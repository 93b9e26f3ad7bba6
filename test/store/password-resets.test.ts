import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '../../src/lib/hash.js';
import { randomToken } from '../../src/lib/random.js';
import type { PasswordReset, Store } from '../../src/store/types.js';
import { storeFactories, type TestStore } from '../helpers/stores.js';
import { NOW, newToken, newUser, seedGrant } from './fixtures.js';

const LIFETIME = 1800;

function newReset(userId: string, overrides: Partial<PasswordReset> = {}): PasswordReset {
  return {
    tokenHash: sha256(randomToken()),
    userId,
    createdAt: NOW,
    expiresAt: NOW + LIFETIME,
    usedAt: null,
    ...overrides,
  };
}

for (const factory of storeFactories()) {
  describe(`${factory.name} store: password resets`, () => {
    let testStore: TestStore;
    let store: Store;
    let userId: string;
    beforeAll(async () => {
      testStore = await factory.open();
      store = testStore.store;
      userId = (await store.users.create(newUser())).id;
    });
    afterAll(async () => testStore.cleanup());

    it('finds a saved link by hash with every field intact, spending nothing', async () => {
      const reset = newReset(userId);
      await store.passwordResets.save(reset);
      expect(await store.passwordResets.findUsable(reset.tokenHash, NOW)).toEqual(reset);
      expect(await store.passwordResets.findUsable(reset.tokenHash, NOW)).toEqual(reset);
      expect(await store.passwordResets.findUsable(sha256('unknown'), NOW)).toBeUndefined();
    });

    it('spends a link once', async () => {
      const reset = newReset(userId);
      await store.passwordResets.save(reset);
      expect(await store.passwordResets.consume(reset.tokenHash, NOW + 5)).toEqual({
        ...reset,
        usedAt: NOW + 5,
      });
      expect(await store.passwordResets.consume(reset.tokenHash, NOW + 6)).toBeUndefined();
      expect(await store.passwordResets.findUsable(reset.tokenHash, NOW + 6)).toBeUndefined();
      expect(await store.passwordResets.consume(sha256('unknown'), NOW)).toBeUndefined();
    });

    it('works up to the second before expiresAt and not at it', async () => {
      const reset = newReset(userId);
      await store.passwordResets.save(reset);
      const last = NOW + LIFETIME - 1;
      expect(await store.passwordResets.findUsable(reset.tokenHash, last)).toBeDefined();
      expect(await store.passwordResets.findUsable(reset.tokenHash, last + 1)).toBeUndefined();
      expect(await store.passwordResets.consume(reset.tokenHash, last + 1)).toBeUndefined();
      expect((await store.passwordResets.consume(reset.tokenHash, last))?.usedAt).toBe(last);
    });

    it('gives a link to exactly one of ten concurrent consumers', async () => {
      const reset = newReset(userId);
      await store.passwordResets.save(reset);
      const results = await Promise.all(
        Array.from({ length: 10 }, () => store.passwordResets.consume(reset.tokenHash, NOW + 1)),
      );
      expect(results.filter((r) => r !== undefined)).toHaveLength(1);
    });

    it('ends every usable link of one person and no one else’s', async () => {
      const other = (await store.users.create(newUser())).id;
      const mine = [newReset(userId), newReset(userId)];
      const theirs = newReset(other);
      for (const reset of [...mine, theirs]) await store.passwordResets.save(reset);
      expect(await store.passwordResets.endAllOfUser(userId, NOW + 1)).toBeGreaterThanOrEqual(2);
      for (const reset of mine) {
        expect(await store.passwordResets.findUsable(reset.tokenHash, NOW + 1)).toBeUndefined();
      }
      expect(await store.passwordResets.findUsable(theirs.tokenHash, NOW + 1)).toEqual(theirs);
      expect(await store.passwordResets.endAllOfUser(userId, NOW + 2)).toBe(0);
    });

    it('purges links past their expiry, used or not, and keeps live ones', async () => {
      const expired = newReset(userId, { createdAt: NOW - 4000, expiresAt: NOW - 2200 });
      const usedExpired = newReset(userId, { expiresAt: NOW - 1, usedAt: NOW - 100 });
      const live = newReset(userId);
      for (const reset of [expired, usedExpired, live]) await store.passwordResets.save(reset);
      const counts = await store.purgeExpired(NOW);
      expect(counts.passwordResets).toBe(2);
      expect(await store.passwordResets.findUsable(live.tokenHash, NOW)).toEqual(live);
    });

    it('deletes a person’s links with the person', async () => {
      const gone = (await store.users.create(newUser())).id;
      const reset = newReset(gone);
      await store.passwordResets.save(reset);
      expect(await store.users.delete(gone)).toBe(true);
      expect(await store.passwordResets.findUsable(reset.tokenHash, NOW)).toBeUndefined();
    });

    it('replaces a password hash only while it is still the one named', async () => {
      const user = await store.users.create(newUser());
      const old = user.passwordHash!;
      expect(await store.users.replacePasswordHash(user.id, 'another hash', 'new')).toBe(false);
      expect((await store.users.findById(user.id))?.passwordHash).toBe(old);
      expect(await store.users.replacePasswordHash(user.id, old, 'new hash')).toBe(true);
      const after = await store.users.findById(user.id);
      expect(after?.passwordHash).toBe('new hash');
      expect(after?.updatedAt).toBe(user.updatedAt);
      expect(await store.users.replacePasswordHash(user.id, old, 'newer')).toBe(false);
      expect(await store.users.replacePasswordHash('no-such-user', old, 'newer')).toBe(false);
    });

    it('revokes every refresh token of a person, whatever the app, and nothing else', async () => {
      const owner = await seedGrant(store);
      const secondApp = await seedGrant(store);
      const other = { ...secondApp, userId: owner.userId };
      // A second app's grant for the same person.
      const grant = await store.grants.upsert(owner.userId, secondApp.clientId, ['openid'], NOW);
      const refreshes = [
        newToken(owner),
        newToken(owner, { sessionId: null }),
        newToken({ ...other, grantId: grant.id }),
      ];
      const access = newToken(owner, { kind: 'access', format: 'opaque' });
      const stranger = newToken(secondApp);
      await store.tokens.saveAll([...refreshes, access, stranger]);
      expect(await store.tokens.revokeRefreshTokensOfUser(owner.userId, NOW + 1)).toBe(3);
      for (const token of refreshes) {
        expect((await store.tokens.find(token.id))?.revokedAt).toBe(NOW + 1);
      }
      expect((await store.tokens.find(access.id))?.revokedAt).toBeNull();
      expect((await store.tokens.find(stranger.id))?.revokedAt).toBeNull();
      expect(await store.tokens.revokeRefreshTokensOfUser(owner.userId, NOW + 2)).toBe(0);
    });
  });
}
