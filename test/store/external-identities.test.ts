import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConflictError, type Store } from '../../src/store/types.js';
import { storeFactories, type TestStore } from '../helpers/stores.js';
import { NOW, newClient, newToken, newUser, unique } from './fixtures.js';

for (const factory of storeFactories()) {
  describe(`${factory.name} store: external identities`, () => {
    let testStore: TestStore;
    let store: Store;
    beforeAll(async () => {
      testStore = await factory.open();
      store = testStore.store;
    });
    afterAll(async () => testStore.cleanup());

    it('finds the person an issuer and subject are linked to, and no one for others', async () => {
      const user = await store.users.create(newUser());
      const issuer = `https://idp-${unique()}.example`;
      await store.externalIdentities.link({
        issuer,
        subject: 'abc',
        userId: user.id,
        createdAt: NOW,
      });
      expect((await store.externalIdentities.findUser(issuer, 'abc'))?.id).toBe(user.id);
      expect(await store.externalIdentities.findUser(issuer, 'ABC')).toBeUndefined();
      expect(await store.externalIdentities.findUser(`${issuer}/`, 'abc')).toBeUndefined();
      expect(
        await store.externalIdentities.findUser('https://other.example', 'abc'),
      ).toBeUndefined();
    });

    it('links one account elsewhere to one person only', async () => {
      const [a, b] = [await store.users.create(newUser()), await store.users.create(newUser())];
      const identity = { issuer: `https://idp-${unique()}.example`, subject: 's1', createdAt: NOW };
      await store.externalIdentities.link({ ...identity, userId: a.id });
      await expect(store.externalIdentities.link({ ...identity, userId: b.id })).rejects.toThrow(
        ConflictError,
      );
      await expect(store.externalIdentities.link({ ...identity, userId: a.id })).rejects.toThrow(
        ConflictError,
      );
      expect((await store.externalIdentities.findUser(identity.issuer, 's1'))?.id).toBe(a.id);
    });

    it('lists and unlinks a person’s identities, and only theirs', async () => {
      const [a, b] = [await store.users.create(newUser()), await store.users.create(newUser())];
      const issuer = `https://idp-${unique()}.example`;
      await store.externalIdentities.link({ issuer, subject: 'x', userId: a.id, createdAt: NOW });
      await store.externalIdentities.link({
        issuer,
        subject: 'y',
        userId: a.id,
        createdAt: NOW + 1,
      });
      expect((await store.externalIdentities.listForUser(a.id)).map((i) => i.subject)).toEqual([
        'x',
        'y',
      ]);
      expect(await store.externalIdentities.unlink(b.id, issuer, 'x')).toBe(false);
      expect(await store.externalIdentities.unlink(a.id, issuer, 'x')).toBe(true);
      expect(await store.externalIdentities.unlink(a.id, issuer, 'x')).toBe(false);
      expect(await store.externalIdentities.findUser(issuer, 'x')).toBeUndefined();
      expect(await store.externalIdentities.listForUser(a.id)).toEqual([
        { issuer, subject: 'y', userId: a.id, createdAt: NOW + 1 },
      ]);
    });

    it('forgets a person’s identities with the person', async () => {
      const user = await store.users.create(newUser());
      const issuer = `https://idp-${unique()}.example`;
      await store.externalIdentities.link({
        issuer,
        subject: 'gone',
        userId: user.id,
        createdAt: NOW,
      });
      expect(await store.users.delete(user.id)).toBe(true);
      expect(await store.externalIdentities.findUser(issuer, 'gone')).toBeUndefined();
      expect(await store.externalIdentities.listForUser(user.id)).toEqual([]);
    });

    it('keeps a token’s act claim and a client’s exchange policy', async () => {
      const client = await store.clients.create(
        newClient({
          tokenExchangeAudiences: ['https://api.example/b'],
          tokenExchangeSubjectTokenTypes: ['urn:ietf:params:oauth:token-type:id_token'],
          tokenExchangeTrustedIssuers: ['https://idp.example'],
        }),
      );
      const found = await store.clients.findById(client.id);
      expect(found?.tokenExchangeAudiences).toEqual(['https://api.example/b']);
      expect(found?.tokenExchangeSubjectTokenTypes).toEqual([
        'urn:ietf:params:oauth:token-type:id_token',
      ]);
      expect(found?.tokenExchangeTrustedIssuers).toEqual(['https://idp.example']);
      const act = JSON.stringify({ sub: 'api-a', act: { sub: 'api-0' } });
      const token = newToken(
        { clientId: client.id, userId: null, grantId: null },
        { kind: 'access', act },
      );
      await store.tokens.save(token);
      expect((await store.tokens.find(token.id))?.act).toBe(act);
    });
  });
}
