import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TokenCache, withTokenCache } from '../../src/store/token-cache.js';
import type { Store, TokenRecord } from '../../src/store/types.js';
import { storeFactories, type TestStore } from '../helpers/stores.js';
import { NOW, newToken, seedGrant } from './fixtures.js';

/** Every method of the store, as `part.method` (`purgeExpired` for the store's own). */
function methodsOf(store: Store): string[] {
  const names: string[] = [];
  for (const [part, value] of Object.entries(store)) {
    if (typeof value === 'function') names.push(part);
    else if (value && typeof value === 'object') {
      for (const [name, method] of Object.entries(value)) {
        if (typeof method === 'function') names.push(`${part}.${name}`);
      }
    }
  }
  return names.sort();
}

for (const factory of storeFactories()) {
  describe(`${factory.name} store behind the token cache`, () => {
    let testStore: TestStore;
    /** The database as it is, behind the cache's back. */
    let raw: Store;
    let store: Store;
    let cache: TokenCache;
    let clock: number;
    let broadcasts: number;
    let owner: Awaited<ReturnType<typeof seedGrant>>;

    beforeAll(async () => {
      testStore = await factory.open();
      raw = testStore.store;
      owner = await seedGrant(raw);
    });
    afterAll(async () => testStore.cleanup());
    beforeEach(() => {
      clock = 1_000_000;
      broadcasts = 0;
      cache = new TokenCache(
        2_000,
        () => clock,
        () => {
          broadcasts += 1;
        },
      );
      store = withTokenCache(raw, cache);
    });

    async function savedAccessToken(overrides: Partial<TokenRecord> = {}) {
      const token = newToken(owner, { kind: 'access', format: 'opaque', ...overrides });
      await raw.tokens.save(token);
      return token;
    }

    it('answers a token it read from memory until the time to live is over', async () => {
      const token = await savedAccessToken();
      expect((await store.tokens.findWithUser(token.id))?.token.revokedAt).toBeNull();
      // Revoked behind the cache's back, as another instance without an event bus would.
      await raw.tokens.revoke(token.id, NOW);
      clock += 1_999;
      expect((await store.tokens.findWithUser(token.id))?.token.revokedAt).toBeNull();
      clock += 1;
      expect((await store.tokens.findWithUser(token.id))?.token.revokedAt).toBe(NOW);
    });

    it('keeps the person read with the token', async () => {
      const token = await savedAccessToken();
      const first = await store.tokens.findWithUser(token.id);
      expect(first?.user?.id).toBe(owner.userId);
      expect(await store.tokens.findWithUser(token.id)).toBe(first);
    });

    it('never keeps refresh tokens or revoked tokens', async () => {
      const refresh = newToken(owner);
      await raw.tokens.save(refresh);
      const revoked = await savedAccessToken({ revokedAt: NOW });
      await store.tokens.findWithUser(refresh.id);
      await store.tokens.findWithUser(revoked.id);
      expect(cache.size).toBe(0);
      // The refresh token rotates behind the cache; the next lookup sees it.
      await raw.tokens.rotate({ id: refresh.id, successors: [], now: NOW + 1 });
      expect((await store.tokens.findWithUser(refresh.id))?.token.rotatedAt).toBe(NOW + 1);
    });

    it('every write that could end or change a token or its person forgets everything and tells the others', async () => {
      const harmless = [
        'apis.create',
        'apis.update',
        'audit.record',
        'browsers.see',
        'clients.create',
        'codes.consume',
        'codes.redeem',
        'codes.save',
        'deviceCodes.decide',
        'deviceCodes.recordPoll',
        'deviceCodes.redeem',
        'deviceCodes.save',
        'emailCodes.addAttempt',
        'emailCodes.consume',
        'emailCodes.consumeLink',
        'emailCodes.replace',
        'externalIdentities.link',
        'grants.touch',
        'markers.use',
        'passkeys.add',
        'passkeys.remove',
        'passkeys.rename',
        'passkeys.updateAfterUse',
        'outbox.add',
        'passwordResets.consume',
        'passwordResets.endAllOfUser',
        'passwordResets.save',
        'pushedRequests.finish',
        'pushedRequests.resume',
        'pushedRequests.save',
        'pushedRequests.start',
        'registrations.createInitialToken',
        'registrations.deleteInitialToken',
        'registrations.saveRecord',
        'registrations.setApplicationType',
        'registrations.spendInitialToken',
        'sessions.addClient',
        'sessions.create',
        'sessions.touch',
        'tokens.rotate',
        'tokens.save',
        'tokens.saveAll',
        'totp.acceptStep',
        'totp.disable',
        'totp.enable',
        'totp.replaceRecoveryCodes',
        'totp.useRecoveryCode',
        'users.create',
      ];
      const reads = methodsOf(raw).filter((name) =>
        /^(\w+\.)?(find|list|count|get|ping)/.test(name),
      );
      const writes = methodsOf(raw).filter(
        (name) => !reads.includes(name) && !harmless.includes(name) && name !== 'close',
      );
      // The ones that matter most are among them.
      expect(writes).toEqual(
        expect.arrayContaining([
          'tokens.revoke',
          'tokens.revokeFamily',
          'tokens.revokeUnstored',
          'grants.revoke',
          // These leave tokens alone, but change records the sign-in cache keeps.
          'grants.upsert',
          'grants.change',
          'sessions.renew',
          'users.update',
          'users.delete',
          'clients.update',
          'clients.delete',
          'sessions.end',
          'tokens.revokeRefreshTokensOfClient',
          'tokens.revokeRefreshTokensOfUser',
          'users.replacePasswordHash',
          'purgeExpired',
        ]),
      );
      for (const name of writes) {
        const token = await savedAccessToken();
        await store.tokens.findWithUser(token.id);
        expect(cache.size, name).toBe(1);
        const before = broadcasts;
        const [part, method] = name.includes('.') ? name.split('.') : [undefined, name];
        const target = (part ? store[part as keyof Store] : store) as unknown as Record<
          string,
          (...args: unknown[]) => Promise<unknown>
        >;
        // Arguments that match nothing: the write may do nothing, or fail, and still forgets.
        await target[method!]!('no-such-id', NOW, NOW).catch(() => {});
        expect(cache.size, name).toBe(0);
        expect(broadcasts, name).toBe(before + 1);
      }
    });

    it('harmless writes keep what it holds', async () => {
      const token = await savedAccessToken();
      await store.tokens.findWithUser(token.id);
      await store.tokens.saveAll([newToken(owner), newToken(owner)]);
      await store.grants.touch(owner.grantId, NOW + 60);
      await store.audit.record({
        type: 'test',
        userId: null,
        clientId: null,
        ip: null,
        details: null,
        createdAt: NOW,
      });
      expect(cache.size).toBe(1);
      expect(broadcasts).toBe(0);
    });

    it('a revocation through the cached store is seen at once', async () => {
      const token = await savedAccessToken();
      expect((await store.tokens.findWithUser(token.id))?.token.revokedAt).toBeNull();
      await store.tokens.revoke(token.id, NOW);
      expect((await store.tokens.findWithUser(token.id))?.token.revokedAt).toBe(NOW);
      const family = await savedAccessToken({ familyId: 'family-1' });
      await store.tokens.findWithUser(family.id);
      await store.tokens.revokeFamily('family-1', NOW);
      expect((await store.tokens.findWithUser(family.id))?.token.revokedAt).toBe(NOW);
    });

    it('a change to the person is seen at once', async () => {
      const token = await savedAccessToken();
      expect((await store.tokens.findWithUser(token.id))?.user?.givenName).toBe('Ada');
      await store.users.update(owner.userId, { givenName: 'Augusta' }, NOW);
      expect((await store.tokens.findWithUser(token.id))?.user?.givenName).toBe('Augusta');
    });
  });
}

describe('TokenCache', () => {
  const record = (overrides: Partial<TokenRecord> = {}) => ({
    token: newToken(
      { clientId: 'c', userId: 'u', grantId: null },
      { kind: 'access', format: 'opaque', ...overrides },
    ),
    user: undefined,
  });

  it('does not keep what a read returned when a write finished while it was reading', async () => {
    const cache = new TokenCache(2_000, () => 0);
    let finish!: () => void;
    const reading = cache.findWithUser(
      'id',
      () =>
        new Promise((resolve) => {
          finish = () => resolve(record());
        }),
    );
    cache.invalidate();
    finish();
    expect((await reading)?.token.revokedAt).toBeNull();
    expect(cache.size).toBe(0);
  });

  it('keeps ids with no record, which only a write (that clears it) can create', async () => {
    const cache = new TokenCache(2_000, () => 0);
    let reads = 0;
    const load = async () => {
      reads += 1;
      return undefined;
    };
    expect(await cache.findWithUser('unknown', load)).toBeUndefined();
    expect(await cache.findWithUser('unknown', load)).toBeUndefined();
    expect(reads).toBe(1);
  });

  it('stays within its bound: a flood of distinct tokens pushes out the least recently used', async () => {
    const cache = new TokenCache(2_000, () => 1_000, undefined, 100);
    const reads = new Map<string, number>();
    const load = async (id: string) => {
      reads.set(id, (reads.get(id) ?? 0) + 1);
      return record();
    };
    await cache.findWithUser('in use', load);
    for (let i = 0; i < 1_000; i++) {
      await cache.findWithUser(`flood${i}`, load);
      // Presented again well within every 100 new ids, as a resource server's token is.
      if (i % 50 === 0) await cache.findWithUser('in use', load);
    }
    expect(cache.size).toBe(100);
    expect(reads.get('in use')).toBe(1);
    await cache.findWithUser('flood0', load);
    expect(reads.get('flood0')).toBe(2);
    await cache.findWithUser('flood999', load);
    expect(reads.get('flood999')).toBe(1);
  });

  it('forget() is what another instance hears: it clears without telling anyone', async () => {
    let told = 0;
    const cache = new TokenCache(
      2_000,
      () => 0,
      () => {
        told += 1;
      },
    );
    await cache.findWithUser('id', async () => record());
    cache.forget();
    expect(cache.size).toBe(0);
    expect(told).toBe(0);
    await cache.findWithUser('id', async () => record());
    cache.invalidate();
    expect(told).toBe(1);
  });

  it('with no time to live it keeps nothing', async () => {
    let reads = 0;
    const cache = new TokenCache(0, () => 0);
    for (let i = 0; i < 3; i++) {
      await cache.findWithUser('id', async () => {
        reads += 1;
        return record();
      });
    }
    expect(reads).toBe(3);
    expect(cache.size).toBe(0);
  });
});
