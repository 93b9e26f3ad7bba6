import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/types.js';
import { storeFactories, type TestStore } from '../helpers/stores.js';
import { NOW, newClient, newCode, newSession, newToken, seedGrant } from './fixtures.js';

for (const factory of storeFactories()) {
  describe(`${factory.name} store: clients`, () => {
    let testStore: TestStore;
    let store: Store;
    beforeAll(async () => {
      testStore = await factory.open();
      store = testStore.store;
    });
    afterAll(async () => testStore.cleanup());

    it('creates a client and reads back every field exactly', async () => {
      const input = newClient();
      const expected = { ...input, updatedAt: input.createdAt };
      expect(await store.clients.create(input)).toEqual(expected);
      expect(await store.clients.findById(input.id)).toEqual(expected);
    });

    it('round-trips a public client with false flags, nulls and empty lists', async () => {
      const input = newClient({
        type: 'public',
        secretHash: null,
        contactEmail: null,
        tokenEndpointAuthMethod: 'none',
        accessTokenFormat: 'jwt',
        idTokenSignedResponseAlg: 'RS256',
        userinfoSignedResponseAlg: null,
        backchannelLogoutUri: null,
        defaultMaxAge: null,
        requireAuthTime: false,
        firstParty: false,
        requirePkce: false,
        postLogoutRedirectUris: [],
        scopes: [],
        grantTypes: ['authorization_code'],
      });
      await store.clients.create(input);
      expect(await store.clients.findById(input.id)).toEqual({
        ...input,
        updatedAt: input.createdAt,
      });
    });

    it('round-trips the keys of a client that signs its assertions, and updates them', async () => {
      const jwk = { kty: 'EC', crv: 'P-256', x: 'eA', y: 'eQ', kid: 'k1', alg: 'ES256' };
      const input = newClient({
        tokenEndpointAuthMethod: 'client_secret_jwt',
        secretSealed: 'v1.iv.body.tag',
        jwks: { keys: [jwk] },
        tokenEndpointAuthSigningAlg: 'HS256',
        jwtBearerSubjects: ['u1', 'u2'],
        grantTypes: ['urn:ietf:params:oauth:grant-type:jwt-bearer'],
      });
      await store.clients.create(input);
      expect(await store.clients.findById(input.id)).toEqual({
        ...input,
        updatedAt: input.createdAt,
      });
      const updated = await store.clients.update(
        input.id,
        {
          jwks: null,
          jwksUri: 'https://keys.example.com/jwks',
          secretSealed: null,
          tokenEndpointAuthSigningAlg: null,
          jwtBearerSubjects: [],
        },
        NOW + 1,
      );
      expect(updated).toMatchObject({
        jwks: null,
        jwksUri: 'https://keys.example.com/jwks',
        secretSealed: null,
        tokenEndpointAuthSigningAlg: null,
        jwtBearerSubjects: [],
      });
    });

    it('answers undefined for an unknown client', async () => {
      expect(await store.clients.findById('no-such-client')).toBeUndefined();
      expect(await store.clients.update('no-such-client', { name: 'x' }, NOW)).toBeUndefined();
      expect(await store.clients.delete('no-such-client')).toBe(false);
    });

    it('lists clients in the order they were created', async () => {
      const later = await store.clients.create(newClient({ createdAt: NOW + 100 }));
      const earlier = await store.clients.create(newClient({ createdAt: NOW + 50 }));
      const ids = (await store.clients.list()).map((c) => c.id);
      expect(ids.indexOf(earlier.id)).toBeLessThan(ids.indexOf(later.id));
      expect((await store.clients.list()).find((c) => c.id === later.id)).toEqual(later);
    });

    it('updates the given fields, keeps the rest and sets updatedAt', async () => {
      const client = await store.clients.create(newClient());
      const patch = {
        name: 'Renamed',
        secretHash: 'new-hash',
        redirectUris: ['https://new.example/cb'],
        scopes: ['openid'],
        firstParty: false,
        defaultMaxAge: null,
        accessTokenFormat: 'jwt' as const,
      };
      const expected = { ...client, ...patch, updatedAt: NOW + 7 };
      expect(await store.clients.update(client.id, patch, NOW + 7)).toEqual(expected);
      expect(await store.clients.findById(client.id)).toEqual(expected);
    });

    it('deletes a client with its grants, codes, tokens and session links only', async () => {
      const doomed = await seedGrant(store);
      const kept = await seedGrant(store);
      const code = newCode(doomed);
      await store.codes.save(code);
      const token = newToken(doomed);
      await store.tokens.save(token);
      const keptToken = newToken(kept);
      await store.tokens.save(keptToken);
      const session = newSession(doomed.userId);
      await store.sessions.create(session);
      await store.sessions.addClient(session.id, doomed.clientId, NOW);
      await store.sessions.addClient(session.id, kept.clientId, NOW);

      expect(await store.clients.delete(doomed.clientId)).toBe(true);

      expect(await store.clients.findById(doomed.clientId)).toBeUndefined();
      expect(await store.grants.findById(doomed.grantId)).toBeUndefined();
      expect(await store.codes.consume(code.id, NOW)).toEqual({ status: 'missing' });
      expect(await store.tokens.find(token.id)).toBeUndefined();
      expect(await store.sessions.listClients(session.id)).toEqual([kept.clientId]);
      // The person, their session and other clients' data stay.
      expect(await store.users.findById(doomed.userId)).toBeDefined();
      expect(await store.sessions.findById(session.id)).toBeDefined();
      expect(await store.grants.findById(kept.grantId)).toBeDefined();
      expect(await store.tokens.find(keptToken.id)).toEqual(keptToken);
    });
  });
}
