import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConflictError, type Store } from '../../src/store/types.js';
import { storeFactories, type TestStore } from '../helpers/stores.js';
import { NOW, newApi, newClient, newCode, newDeviceCode, newUser } from './fixtures.js';

for (const factory of storeFactories()) {
  describe(`${factory.name} store: APIs`, () => {
    let testStore: TestStore;
    let store: Store;
    beforeAll(async () => {
      testStore = await factory.open();
      store = testStore.store;
    });
    afterAll(async () => testStore.cleanup());

    const introspector = () =>
      store.clients.create(newClient({ resourceServer: true, grantTypes: [], responseTypes: [] }));

    it('keeps every field of an API through a round trip, by id and by identifier', async () => {
      const client = await introspector();
      const made = newApi(client.id);
      const created = await store.apis.create(made);
      const expected = { ...made, updatedAt: NOW };
      expect(created).toEqual(expected);
      expect(await store.apis.findById(made.id)).toEqual(expected);
      expect(await store.apis.findByIdentifier(made.identifier)).toEqual(expected);
      expect(await store.apis.findByIdentifier(`${made.identifier}/`)).toBeUndefined();
      expect((await store.apis.list()).map((a) => a.id)).toContain(made.id);
    });

    it('keeps nulls for a format and lifetime left to the client and the server', async () => {
      const client = await introspector();
      const made = newApi(client.id, {
        accessTokenFormat: null,
        accessTokenTtl: null,
        openToSelfRegistered: false,
        scopes: [],
      });
      await store.apis.create(made);
      expect(await store.apis.findById(made.id)).toMatchObject({
        accessTokenFormat: null,
        accessTokenTtl: null,
        openToSelfRegistered: false,
        scopes: [],
      });
    });

    it('refuses a second API with the same identifier', async () => {
      const first = newApi((await introspector()).id);
      await store.apis.create(first);
      const second = newApi((await introspector()).id, { identifier: first.identifier });
      await expect(store.apis.create(second)).rejects.toThrow(ConflictError);
    });

    it('updates only what the patch names, and moves updatedAt', async () => {
      const made = newApi((await introspector()).id);
      await store.apis.create(made);
      const updated = await store.apis.update(
        made.id,
        { name: 'Renamed', accessTokenTtl: null, openToSelfRegistered: false },
        NOW + 5,
      );
      expect(updated).toEqual({
        ...made,
        name: 'Renamed',
        accessTokenTtl: null,
        openToSelfRegistered: false,
        updatedAt: NOW + 5,
      });
      expect(await store.apis.update('nobody', { name: 'x' }, NOW)).toBeUndefined();
    });

    it('deletes an API with its introspection client, once', async () => {
      const client = await introspector();
      const made = newApi(client.id);
      await store.apis.create(made);
      expect(await store.apis.delete(made.id)).toBe(true);
      expect(await store.apis.findById(made.id)).toBeUndefined();
      expect(await store.clients.findById(client.id)).toBeUndefined();
      expect(await store.apis.delete(made.id)).toBe(false);
    });

    it('keeps the resources of codes and device codes, and the resources clients may use', async () => {
      const user = await store.users.create(newUser());
      const client = await store.clients.create(newClient());
      expect((await store.clients.findById(client.id))?.allowedResources).toEqual(
        client.allowedResources,
      );
      const changed = await store.clients.update(client.id, { allowedResources: [] }, NOW);
      expect(changed?.allowedResources).toEqual([]);
      const grant = await store.grants.upsert(user.id, client.id, ['openid'], NOW);
      const code = newCode({ grantId: grant.id, clientId: client.id, userId: user.id });
      await store.codes.save(code);
      expect((await store.codes.findWithUser(code.id))?.code.resources).toEqual(code.resources);
      const device = newDeviceCode(client.id);
      await store.deviceCodes.save(device);
      expect((await store.deviceCodes.find(device.id))?.resources).toEqual(device.resources);
    });
  });
}
