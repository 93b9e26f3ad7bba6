import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SignInCache, withSignInCache } from '../../src/store/sign-in-cache.js';
import { TokenCache, withTokenCache } from '../../src/store/token-cache.js';
import type { Session, Store } from '../../src/store/types.js';
import { storeFactories, type TestStore } from '../helpers/stores.js';
import { NOW, newCode, newSession, newToken, seedGrant } from './fixtures.js';

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
  describe(`${factory.name} store behind the sign-in cache`, () => {
    let testStore: TestStore;
    /** The database as it is, behind the cache's back. */
    let raw: Store;
    let store: Store;
    let cache: SignInCache;
    let clock: number;
    let broadcasts: number;
    let owner: Awaited<ReturnType<typeof seedGrant>>;

    beforeAll(async () => {
      testStore = await factory.open();
      raw = testStore.store;
    });
    afterAll(async () => testStore.cleanup());
    beforeEach(async () => {
      clock = 1_000_000;
      broadcasts = 0;
      owner = await seedGrant(raw);
      cache = new SignInCache(2_000, () => clock);
      const tokens = new TokenCache(
        2_000,
        () => clock,
        () => {
          broadcasts += 1;
        },
      );
      store = withSignInCache(withTokenCache(raw, tokens, [cache]), cache);
    });

    async function savedSession(overrides: Partial<Session> = {}) {
      const session = newSession(owner.userId, overrides);
      await raw.sessions.create(session);
      return session;
    }

    /** The three reads of a signed-in /authorize, through the cache. */
    async function readAll(session: Session) {
      return {
        session: await store.sessions.findActiveBySecret(session.secretHash, NOW),
        user: await store.users.findById(owner.userId),
        grant: await store.grants.find(owner.userId, owner.clientId),
      };
    }

    it('answers the session, the person and the grant from memory until the time to live is over', async () => {
      const session = await savedSession();
      const first = await readAll(session);
      expect(first.session?.id).toBe(session.id);
      expect(cache.size).toBe(3);
      // Changed behind the cache's back, as another instance without an event bus would.
      await raw.sessions.end(session.id, NOW);
      await raw.users.update(owner.userId, { givenName: 'Augusta' }, NOW);
      await raw.grants.revoke(owner.grantId, NOW);
      clock += 1_999;
      const kept = await readAll(session);
      expect(kept.session).toBe(first.session);
      expect(kept.user).toBe(first.user);
      expect(kept.grant).toBe(first.grant);
      clock += 1;
      const read = await readAll(session);
      expect(read.session).toBeUndefined();
      expect(read.user?.givenName).toBe('Augusta');
      expect(read.grant).toBeUndefined();
    });

    it('keeps the record, not the verdict: a kept session is refused once it has expired', async () => {
      const session = await savedSession({ expiresAt: NOW + 60 });
      expect(await store.sessions.findActiveBySecret(session.secretHash, NOW + 59)).toBeDefined();
      expect(cache.size).toBe(1);
      expect(await store.sessions.findActiveBySecret(session.secretHash, NOW + 60)).toBeUndefined();
    });

    it('never keeps a miss: a session, person or grant made later is found at once', async () => {
      const session = newSession(owner.userId);
      expect(await store.sessions.findActiveBySecret(session.secretHash, NOW)).toBeUndefined();
      expect(await store.grants.find(owner.userId, 'no-such-client')).toBeUndefined();
      expect(await store.users.findById('no-such-user')).toBeUndefined();
      expect(cache.size).toBe(0);
      await raw.sessions.create(session);
      expect((await store.sessions.findActiveBySecret(session.secretHash, NOW))?.id).toBe(
        session.id,
      );
    });

    it('a "last seen" written through it is what the kept session says', async () => {
      const session = await savedSession();
      await store.sessions.findActiveBySecret(session.secretHash, NOW);
      await store.sessions.touch(session.id, NOW + 120);
      expect((await store.sessions.findActiveBySecret(session.secretHash, NOW))?.lastSeenAt).toBe(
        NOW + 120,
      );
      expect((await raw.sessions.findById(session.id))?.lastSeenAt).toBe(NOW + 120);
      expect(broadcasts).toBe(0);
    });

    it("writes a session's link to an app once, and again after it forgot", async () => {
      const session = await savedSession();
      let writes = 0;
      const counted = withSignInCache(
        {
          ...store,
          sessions: {
            ...store.sessions,
            addClient: async (...args) => {
              writes += 1;
              await store.sessions.addClient(...args);
            },
          },
        },
        cache,
      );
      await counted.sessions.addClient(session.id, owner.clientId, NOW);
      await counted.sessions.addClient(session.id, owner.clientId, NOW + 1);
      expect(writes).toBe(1);
      expect(await raw.sessions.listClients(session.id)).toEqual([owner.clientId]);
      cache.forget();
      await counted.sessions.addClient(session.id, owner.clientId, NOW + 2);
      expect(writes).toBe(2);
    });

    it('every write that could end or change a session, person or grant forgets them all and tells the others', async () => {
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
      expect(writes).toEqual(
        expect.arrayContaining([
          'sessions.end',
          'sessions.renew',
          'users.update',
          'users.delete',
          'users.replacePasswordHash',
          'grants.upsert',
          'grants.change',
          'grants.revoke',
          'clients.delete',
          'purgeExpired',
        ]),
      );
      const session = await savedSession();
      for (const name of writes) {
        await readAll(session);
        expect(cache.size, name).toBe(3);
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
      const session = await savedSession();
      const first = await readAll(session);
      await store.codes.save(newCode(owner, { sessionId: session.id }));
      await store.tokens.saveAll([newToken(owner), newToken(owner)]);
      await store.grants.touch(owner.grantId, NOW + 60);
      await store.sessions.touch(session.id, NOW + 60);
      await store.sessions.addClient(session.id, owner.clientId, NOW);
      await store.markers.use('marker', NOW + 60);
      expect(cache.size).toBe(3);
      expect((await readAll(session)).grant).toBe(first.grant);
      expect(broadcasts).toBe(0);
    });
  });
}

describe('SignInCache', () => {
  const session = newSession('u');

  it('does not keep what a read returned when a write finished while it was reading', async () => {
    const cache = new SignInCache(2_000, () => 0);
    let finish!: () => void;
    const reading = cache.session(
      session.secretHash,
      NOW,
      () =>
        new Promise((resolve) => {
          finish = () => resolve(session);
        }),
    );
    cache.forget();
    finish();
    expect(await reading).toBe(session);
    expect(cache.size).toBe(0);
  });

  it('does not remember a link written while it forgot', async () => {
    const cache = new SignInCache(2_000, () => 0);
    let writes = 0;
    const write = async () => {
      writes += 1;
      cache.forget();
    };
    await cache.link('s', 'c', write);
    await cache.link('s', 'c', write);
    expect(writes).toBe(2);
  });

  it('stays within its bound: a flood of distinct sessions pushes out the least recently used', async () => {
    const cache = new SignInCache(2_000, () => 1_000, 100);
    let reads = 0;
    const inUse = async () => {
      reads += 1;
      return session;
    };
    await cache.session(session.secretHash, NOW, inUse);
    for (let i = 0; i < 1_000; i++) {
      const one = newSession('u');
      await cache.session(one.secretHash, NOW, async () => one);
      // Presented again well within every 100 new cookies, as a browser in use is.
      if (i % 50 === 0) await cache.session(session.secretHash, NOW, inUse);
    }
    expect(cache.size).toBe(100);
    expect(reads).toBe(1);
  });

  it('with no time to live it keeps nothing', async () => {
    let reads = 0;
    const cache = new SignInCache(0, () => 0);
    // Found records, which a cache with a lifetime would keep.
    const session = newSession('u');
    for (let i = 0; i < 3; i++) {
      await cache.session(session.secretHash, NOW, async () => {
        reads += 1;
        return session;
      });
    }
    expect(reads).toBe(3);
    expect(cache.size).toBe(0);
  });
});
