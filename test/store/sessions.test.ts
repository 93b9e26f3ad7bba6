import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/types.js';
import { storeFactories, type TestStore } from '../helpers/stores.js';
import { NOW, newClient, newCode, newSession, newToken, newUser, seedGrant } from './fixtures.js';

for (const factory of storeFactories()) {
  describe(`${factory.name} store: sessions`, () => {
    let testStore: TestStore;
    let store: Store;
    beforeAll(async () => {
      testStore = await factory.open();
      store = testStore.store;
    });
    afterAll(async () => testStore.cleanup());

    const someone = async () => (await store.users.create(newUser())).id;

    it('creates a session and finds it by id and by its secret with every field intact', async () => {
      const session = newSession(await someone());
      await store.sessions.create(session);
      expect(await store.sessions.findById(session.id)).toEqual(session);
      expect(await store.sessions.findActiveBySecret(session.secretHash, NOW)).toEqual(session);
    });

    it('round-trips a session with no amr, acr, user agent or ip', async () => {
      const session = newSession(await someone(), {
        amr: null,
        acr: null,
        userAgent: null,
        ip: null,
      });
      await store.sessions.create(session);
      expect(await store.sessions.findById(session.id)).toEqual(session);
      expect(await store.sessions.findById('no-such-session')).toBeUndefined();
    });

    it('does not find an expired session by its secret', async () => {
      const session = newSession(await someone(), { expiresAt: NOW + 10 });
      await store.sessions.create(session);
      expect(await store.sessions.findActiveBySecret(session.secretHash, NOW + 9)).toBeDefined();
      expect(await store.sessions.findActiveBySecret(session.secretHash, NOW + 10)).toBeUndefined();
      expect(await store.sessions.findActiveBySecret('unknown', NOW)).toBeUndefined();
    });

    it('ends a session once: it is no longer found by its secret', async () => {
      const session = newSession(await someone());
      await store.sessions.create(session);
      expect(await store.sessions.end(session.id, NOW + 1)).toBe(true);
      expect(await store.sessions.findActiveBySecret(session.secretHash, NOW + 1)).toBeUndefined();
      expect(await store.sessions.findById(session.id)).toEqual({ ...session, endedAt: NOW + 1 });
      expect(await store.sessions.end(session.id, NOW + 2)).toBe(false);
      expect((await store.sessions.findById(session.id))?.endedAt).toBe(NOW + 1);
      expect(await store.sessions.end('no-such-session', NOW)).toBe(false);
    });

    it('records when a session was last seen', async () => {
      const session = newSession(await someone());
      await store.sessions.create(session);
      await store.sessions.touch(session.id, NOW + 30);
      expect(await store.sessions.findById(session.id)).toEqual({
        ...session,
        lastSeenAt: NOW + 30,
      });
    });

    it("lists a user's active sessions newest first, and the expired ones not yet ended", async () => {
      const userId = await someone();
      const old = newSession(userId, { createdAt: NOW - 100 });
      const recent = newSession(userId, { createdAt: NOW - 5 });
      const expired = newSession(userId, { expiresAt: NOW - 1 });
      const ended = newSession(userId, { expiresAt: NOW - 3 });
      const otherUsers = newSession(await someone());
      for (const s of [old, recent, expired, ended, otherUsers]) await store.sessions.create(s);
      await store.sessions.end(ended.id, NOW - 2);

      expect(await store.sessions.listActiveForUser(userId, NOW)).toEqual([recent, old]);
      const unended = await store.sessions.listExpiredUnended(NOW, 1000);
      expect(unended.map((s) => s.id)).toContain(expired.id);
      expect(unended.map((s) => s.id)).not.toContain(ended.id);
      expect(unended.map((s) => s.id)).not.toContain(old.id);
      expect(await store.sessions.listExpiredUnended(NOW, 1)).toHaveLength(1);
    });

    it('ending a session revokes the tokens issued in it and drops its unused codes, once', async () => {
      const owner = await seedGrant(store);
      const session = newSession(owner.userId);
      const other = newSession(owner.userId);
      await store.sessions.create(session);
      await store.sessions.create(other);
      const access = newToken(owner, { kind: 'access', sessionId: session.id });
      const bound = newToken(owner, { sessionId: session.id });
      const offline = newToken(owner, { sessionId: null });
      const elsewhere = newToken(owner, { sessionId: other.id });
      await store.tokens.saveAll([access, bound, offline, elsewhere]);
      const unused = newCode(owner, { sessionId: session.id });
      const spent = newCode(owner, { sessionId: session.id });
      await store.codes.save(unused);
      await store.codes.save(spent);
      await store.codes.consume(spent.id, NOW);

      expect(await store.sessions.end(session.id, NOW + 5)).toBe(true);
      expect((await store.tokens.find(access.id))?.revokedAt).toBe(NOW + 5);
      expect((await store.tokens.find(bound.id))?.revokedAt).toBe(NOW + 5);
      expect((await store.tokens.find(offline.id))?.revokedAt).toBeNull();
      expect((await store.tokens.find(elsewhere.id))?.revokedAt).toBeNull();
      expect(await store.codes.consume(unused.id, NOW + 6)).toEqual({ status: 'missing' });
      // A spent code stays, so that its replay is still recognised.
      expect((await store.codes.consume(spent.id, NOW + 6)).status).toBe('reused');

      // Ending it again changes nothing, not even the revocation times.
      expect(await store.sessions.end(session.id, NOW + 9)).toBe(false);
      expect((await store.tokens.find(access.id))?.revokedAt).toBe(NOW + 5);
    });

    it('makes a guarded session only while the password hash is still the one checked', async () => {
      const user = await store.users.create(newUser({ passwordHash: 'hash-old' }));
      const first = newSession(user.id);
      expect(await store.sessions.create(first, { passwordHash: 'hash-old' })).toBe(true);
      await store.users.update(user.id, { passwordHash: 'hash-new' }, NOW);
      const late = newSession(user.id);
      expect(await store.sessions.create(late, { passwordHash: 'hash-old' })).toBe(false);
      expect(await store.sessions.findById(late.id)).toBeUndefined();
      expect(
        await store.sessions.renew(
          first.id,
          { ...late, authTime: NOW + 5 },
          { passwordHash: 'hash-old' },
        ),
      ).toBeUndefined();
      expect((await store.sessions.findById(first.id))?.secretHash).toBe(first.secretHash);
    });

    it('a password change sees every session made with the old password, however they race', async () => {
      const user = await store.users.create(newUser({ passwordHash: 'hash-1' }));
      let listed: string[] = [];
      const made = await Promise.all([
        ...Array.from({ length: 10 }, async () => {
          const session = newSession(user.id);
          return (await store.sessions.create(session, { passwordHash: 'hash-1' }))
            ? session.id
            : undefined;
        }),
        (async () => {
          await store.users.update(user.id, { passwordHash: 'hash-2' }, NOW);
          listed = (await store.sessions.listActiveForUser(user.id, NOW)).map((s) => s.id);
          return undefined;
        })(),
      ]);
      // What a password change would end is every session the old password made.
      for (const id of made.filter(Boolean)) expect(listed).toContain(id);
    });

    it('renews a session in place: same id and creation, new secret, time and end', async () => {
      const session = newSession(await someone());
      await store.sessions.create(session);
      const renewal = {
        secretHash: 'renewed-secret-hash',
        authTime: NOW + 100,
        amr: ['pwd', 'otp'],
        acr: 'urn:tessera:mfa',
        userAgent: 'Another browser',
        ip: '192.0.2.99',
        lastSeenAt: NOW + 100,
        expiresAt: NOW + 7200,
      };
      const renewed = await store.sessions.renew(session.id, renewal);
      expect(renewed).toEqual({ ...session, ...renewal });
      expect(await store.sessions.findActiveBySecret(session.secretHash, NOW)).toBeUndefined();
      expect((await store.sessions.findActiveBySecret('renewed-secret-hash', NOW))?.id).toBe(
        session.id,
      );
      await store.sessions.end(session.id, NOW + 200);
      expect(await store.sessions.renew(session.id, renewal)).toBeUndefined();
    });

    it('remembers each client of a session once', async () => {
      const session = newSession(await someone());
      await store.sessions.create(session);
      const a = await store.clients.create(newClient());
      const b = await store.clients.create(newClient());
      await store.sessions.addClient(session.id, a.id, NOW);
      await store.sessions.addClient(session.id, a.id, NOW + 1);
      await store.sessions.addClient(session.id, b.id, NOW + 2);
      expect((await store.sessions.listClients(session.id)).sort()).toEqual([a.id, b.id].sort());
      expect(await store.sessions.listClients('no-such-session')).toEqual([]);
    });

    it('refuses a second session with the same secret', async () => {
      const session = newSession(await someone());
      await store.sessions.create(session);
      await expect(
        store.sessions.create(newSession(session.userId, { secretHash: session.secretHash })),
      ).rejects.toThrow();
    });
  });
}
