import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sha256 } from '../../src/lib/hash.js';
import { randomId } from '../../src/lib/random.js';
import type { Store } from '../../src/store/types.js';
import { storeFactories, type TestStore } from '../helpers/stores.js';
import {
  NOW,
  newClient,
  newCode,
  newDeviceCode,
  newKey,
  newSession,
  newToken,
  newUser,
  seedGrant,
  unique,
} from './fixtures.js';

for (const factory of storeFactories()) {
  describe(`${factory.name} store: purge and ping`, () => {
    let testStore: TestStore;
    let store: Store;
    beforeEach(async () => {
      testStore = await factory.open();
      store = testStore.store;
    });
    afterEach(async () => testStore.cleanup());

    it('answers ping while the database is reachable and throws once it is closed', async () => {
      await expect(store.ping()).resolves.toBeUndefined();
      const other = await factory.open();
      await other.store.close();
      await expect(other.store.ping()).rejects.toThrow();
      await other.cleanup().catch(() => {});
    });

    it('deletes what expired and keeps what lives; codes stay ten minutes past expiry, sessions until ended', async () => {
      const owner = await seedGrant(store);
      const codes = {
        longGone: newCode(owner, { expiresAt: NOW - 601 }),
        recentlyExpired: newCode(owner, { expiresAt: NOW - 599 }),
        live: newCode(owner, { expiresAt: NOW + 60 }),
      };
      for (const code of Object.values(codes)) await store.codes.save(code);
      await store.codes.consume(codes.recentlyExpired.id, NOW - 600);
      // Device codes too stay ten minutes past expiry, so that a late poll hears expired_token.
      const deviceCodes = {
        longGone: newDeviceCode(owner.clientId, { expiresAt: NOW - 601 }),
        recentlyExpired: newDeviceCode(owner.clientId, { expiresAt: NOW - 599 }),
        live: newDeviceCode(owner.clientId, { expiresAt: NOW + 60 }),
      };
      for (const code of Object.values(deviceCodes)) await store.deviceCodes.save(code);

      const tokens = {
        expired: newToken(owner, { expiresAt: NOW - 1 }),
        live: newToken(owner, { expiresAt: NOW + 1 }),
        revokedButLive: newToken(owner, { expiresAt: NOW + 100, revokedAt: NOW - 5 }),
      };
      for (const token of Object.values(tokens)) await store.tokens.save(token);

      const client = await store.clients.create(newClient());
      const sessions = {
        // Expired but not yet ended: kept for the purge job to end first (its apps are told).
        expired: newSession(owner.userId, { expiresAt: NOW - 1 }),
        // Expired over a day ago and never ended (the job was off): deleted all the same.
        forgotten: newSession(owner.userId, { expiresAt: NOW - 86_401 }),
        ended: newSession(owner.userId, { expiresAt: NOW + 100 }),
        live: newSession(owner.userId, { expiresAt: NOW + 100 }),
      };
      for (const session of Object.values(sessions)) {
        await store.sessions.create(session);
        await store.sessions.addClient(session.id, client.id, NOW - 10);
      }
      await store.sessions.end(sessions.ended.id, NOW - 5);

      const keys = {
        expired: newKey({ retiredAt: NOW - 100, expiresAt: NOW - 1 }),
        retiredButPublished: newKey({ retiredAt: NOW - 100, expiresAt: NOW + 100 }),
        current: newKey(),
      };
      for (const key of Object.values(keys)) await store.keys.insert(key);

      const initialTokens = {
        expired: {
          id: randomId(),
          tokenHash: sha256(randomId()),
          createdAt: NOW - 100,
          expiresAt: NOW - 1,
          usesLeft: null,
        },
        live: {
          id: randomId(),
          tokenHash: sha256(randomId()),
          createdAt: NOW - 100,
          expiresAt: NOW + 100,
          usesLeft: 1,
        },
        forever: {
          id: randomId(),
          tokenHash: sha256(randomId()),
          createdAt: NOW - 100,
          expiresAt: null,
          usesLeft: 0,
        },
      };
      for (const token of Object.values(initialTokens))
        await store.registrations.createInitialToken(token);

      expect(await store.purgeExpired(NOW)).toEqual({
        codes: 1,
        tokens: 1,
        sessions: 2,
        keys: 1,
        markers: 0,
        pushedRequests: 0,
        audit: 0,
        deviceCodes: 1,
        registrationTokens: 1,
        documentClients: 0,
        mailOutbox: 0,
        passwordResets: 0,
      });
      expect((await store.registrations.listInitialTokens()).map((t) => t.id).sort()).toEqual(
        [initialTokens.live.id, initialTokens.forever.id].sort(),
      );

      expect(await store.deviceCodes.find(deviceCodes.longGone.id)).toBeUndefined();
      expect(await store.deviceCodes.find(deviceCodes.recentlyExpired.id)).toBeDefined();
      expect(await store.deviceCodes.find(deviceCodes.live.id)).toBeDefined();
      expect((await store.codes.consume(codes.longGone.id, NOW)).status).toBe('missing');
      // A consumed code past its expiry is still recognised as a replay.
      expect((await store.codes.consume(codes.recentlyExpired.id, NOW)).status).toBe('reused');
      expect((await store.codes.consume(codes.live.id, NOW)).status).toBe('consumed');

      expect(await store.tokens.find(tokens.expired.id)).toBeUndefined();
      expect(await store.tokens.find(tokens.live.id)).toEqual(tokens.live);
      expect(await store.tokens.find(tokens.revokedButLive.id)).toEqual(tokens.revokedButLive);

      expect(await store.sessions.findById(sessions.expired.id)).toEqual(sessions.expired);
      expect(await store.sessions.findById(sessions.forgotten.id)).toBeUndefined();
      expect(await store.sessions.findById(sessions.ended.id)).toBeUndefined();
      expect(await store.sessions.listClients(sessions.forgotten.id)).toEqual([]);
      expect(await store.sessions.listClients(sessions.ended.id)).toEqual([]);
      expect(await store.sessions.findById(sessions.live.id)).toEqual(sessions.live);
      expect(await store.sessions.listClients(sessions.live.id)).toEqual([client.id]);

      expect((await store.keys.list()).map((k) => k.kid).sort()).toEqual(
        [keys.retiredButPublished.kid, keys.current.kid].sort(),
      );

      expect(await store.purgeExpired(NOW)).toEqual({
        codes: 0,
        tokens: 0,
        sessions: 0,
        keys: 0,
        markers: 0,
        pushedRequests: 0,

        audit: 0,
        deviceCodes: 0,
        registrationTokens: 0,
        documentClients: 0,
        mailOutbox: 0,
        passwordResets: 0,
      });
    });

    it('deletes metadata-document clients unused since the limit when asked, and only those nothing hangs on', async () => {
      const LIMIT = NOW - 600;
      const documentClient = (writtenAt: number) =>
        store.clients.create(
          newClient({
            id: `https://app-${unique()}.example/client.json`,
            registration: 'metadata_document',
            createdAt: writtenAt,
          }),
        );
      const user = await store.users.create(newUser());
      const unused = await documentClient(LIMIT - 1);
      const session = newSession(user.id, { expiresAt: NOW + 100 });
      await store.sessions.create(session);
      await store.sessions.addClient(session.id, unused.id, LIMIT - 1);
      const consented = await documentClient(LIMIT - 1);
      await store.grants.upsert(user.id, consented.id, ['openid'], LIMIT - 1);
      const withCode = await documentClient(LIMIT - 1);
      await store.codes.save(
        newCode({ grantId: randomId(), clientId: withCode.id, userId: user.id }),
      );
      const withToken = await documentClient(LIMIT - 1);
      await store.tokens.save(
        newToken({ grantId: randomId(), clientId: withToken.id, userId: user.id }),
      );
      const withDeviceCode = await documentClient(LIMIT - 1);
      await store.deviceCodes.save(newDeviceCode(withDeviceCode.id));
      const recent = await documentClient(LIMIT);
      // Created long ago, its document accepted since: the row's updated_at counts.
      const accepted = await documentClient(LIMIT - 1000);
      await store.clients.update(accepted.id, {}, LIMIT + 1);
      const admin = await store.clients.create(newClient({ createdAt: LIMIT - 1 }));
      const dynamic = await store.clients.create(
        newClient({ registration: 'dynamic', createdAt: LIMIT - 1 }),
      );

      expect((await store.purgeExpired(NOW)).documentClients).toBe(0);
      expect(await store.clients.findById(unused.id)).toBeDefined();
      expect(
        (await store.purgeExpired(NOW, { documentClientsUnusedBefore: LIMIT })).documentClients,
      ).toBe(1);
      expect(await store.clients.findById(unused.id)).toBeUndefined();
      expect(await store.sessions.listClients(session.id)).toEqual([]);
      for (const kept of [
        consented,
        withCode,
        withToken,
        withDeviceCode,
        recent,
        accepted,
        admin,
        dynamic,
      ]) {
        expect(await store.clients.findById(kept.id), kept.id).toBeDefined();
      }
      expect(
        (await store.purgeExpired(NOW, { documentClientsUnusedBefore: LIMIT })).documentClients,
      ).toBe(0);
    });

    it('deletes audit events older than the retention limit only when asked, by their time', async () => {
      const event = (type: string, createdAt: number) => ({
        type,
        userId: 'u1',
        clientId: null,
        ip: '192.0.2.1',
        details: null,
        createdAt,
      });
      await store.audit.record(event('old', NOW - 1000));
      await store.audit.record(event('at the limit', NOW - 500));
      await store.audit.record(event('young', NOW - 1));
      const types = async () => (await store.audit.list({ limit: 10 })).map((e) => e.type);

      expect((await store.purgeExpired(NOW)).audit).toBe(0);
      expect(await types()).toEqual(['young', 'at the limit', 'old']);
      expect((await store.purgeExpired(NOW, { auditBefore: NOW - 500 })).audit).toBe(1);
      expect(await types()).toEqual(['young', 'at the limit']);
      expect((await store.purgeExpired(NOW, { auditBefore: NOW - 500 })).audit).toBe(0);
    });
  });
}
