import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomToken } from '../../src/lib/random.js';
import { ConflictError, type Passkey, type Store } from '../../src/store/types.js';
import { storeFactories, type TestStore } from '../helpers/stores.js';
import { NOW, newUser } from './fixtures.js';

function newPasskey(userId: string, overrides: Partial<Passkey> = {}): Passkey {
  return {
    id: randomToken(16),
    userId,
    name: 'Laptop',
    publicKey: randomToken(48),
    counter: 0,
    transports: ['internal', 'hybrid'],
    deviceType: 'multiDevice',
    backedUp: true,
    aaguid: '00000000-0000-0000-0000-000000000000',
    createdAt: NOW,
    lastUsedAt: null,
    ...overrides,
  };
}

for (const factory of storeFactories()) {
  describe(`${factory.name} store: passkeys`, () => {
    let testStore: TestStore;
    let store: Store;
    beforeAll(async () => {
      testStore = await factory.open();
      store = testStore.store;
    });
    afterAll(async () => testStore.cleanup());

    it('keeps a passkey as written, found by id and listed for its owner oldest first', async () => {
      const user = await store.users.create(newUser());
      const later = newPasskey(user.id, { name: 'Phone', createdAt: NOW + 5, counter: 7 });
      const first = newPasskey(user.id, {
        deviceType: 'singleDevice',
        backedUp: false,
        transports: [],
        lastUsedAt: NOW + 1,
      });
      await store.passkeys.add(later);
      await store.passkeys.add(first);
      expect(await store.passkeys.findById(first.id)).toEqual(first);
      expect(await store.passkeys.listForUser(user.id)).toEqual([first, later]);
      expect(await store.passkeys.countForUser(user.id)).toBe(2);
      expect(await store.passkeys.findById('unknown')).toBeUndefined();
      expect(await store.passkeys.listForUser('nobody')).toEqual([]);
    });

    it('registers a credential id once, for anyone', async () => {
      const [a, b] = [await store.users.create(newUser()), await store.users.create(newUser())];
      const passkey = newPasskey(a.id);
      await store.passkeys.add(passkey);
      await expect(store.passkeys.add({ ...passkey, userId: b.id })).rejects.toThrow(ConflictError);
      expect((await store.passkeys.findById(passkey.id))?.userId).toBe(a.id);
    });

    it('records a use only when the counter goes up, or stays 0 for an authenticator without one', async () => {
      const user = await store.users.create(newUser());
      const counting = newPasskey(user.id, { counter: 5 });
      await store.passkeys.add(counting);
      expect(await store.passkeys.updateAfterUse(counting.id, 5, NOW + 1)).toBe(false);
      expect(await store.passkeys.updateAfterUse(counting.id, 4, NOW + 1)).toBe(false);
      expect(await store.passkeys.updateAfterUse(counting.id, 0, NOW + 1)).toBe(false);
      expect(await store.passkeys.updateAfterUse(counting.id, 6, NOW + 2)).toBe(true);
      expect(await store.passkeys.findById(counting.id)).toMatchObject({
        counter: 6,
        lastUsedAt: NOW + 2,
      });

      const none = newPasskey(user.id);
      await store.passkeys.add(none);
      expect(await store.passkeys.updateAfterUse(none.id, 0, NOW + 3)).toBe(true);
      expect(await store.passkeys.updateAfterUse(none.id, 0, NOW + 4)).toBe(true);
      expect((await store.passkeys.findById(none.id))?.lastUsedAt).toBe(NOW + 4);
      expect(await store.passkeys.updateAfterUse('unknown', 1, NOW)).toBe(false);
    });

    it('lets exactly one of ten concurrent uses with the same counter through', async () => {
      const user = await store.users.create(newUser());
      const passkey = newPasskey(user.id, { counter: 1 });
      await store.passkeys.add(passkey);
      const results = await Promise.all(
        Array.from({ length: 10 }, () => store.passkeys.updateAfterUse(passkey.id, 2, NOW + 1)),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
    });

    it('renames and removes only the owner’s passkey', async () => {
      const [a, b] = [await store.users.create(newUser()), await store.users.create(newUser())];
      const passkey = newPasskey(a.id);
      await store.passkeys.add(passkey);
      expect(await store.passkeys.rename(b.id, passkey.id, 'Stolen')).toBe(false);
      expect(await store.passkeys.remove(b.id, passkey.id)).toBe(false);
      expect(await store.passkeys.rename(a.id, passkey.id, 'Work laptop')).toBe(true);
      expect((await store.passkeys.findById(passkey.id))?.name).toBe('Work laptop');
      expect(await store.passkeys.remove(a.id, passkey.id)).toBe(true);
      expect(await store.passkeys.remove(a.id, passkey.id)).toBe(false);
      expect(await store.passkeys.findById(passkey.id)).toBeUndefined();
    });

    it('deletes a person’s passkeys with the account', async () => {
      const user = await store.users.create(newUser());
      const passkey = newPasskey(user.id);
      await store.passkeys.add(passkey);
      expect(await store.users.delete(user.id)).toBe(true);
      expect(await store.passkeys.findById(passkey.id)).toBeUndefined();
    });
  });
}
