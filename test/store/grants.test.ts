import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/types.js';
import { storeFactories, type TestStore } from '../helpers/stores.js';
import { NOW, newClient, newCode, newToken, newUser, seedGrant } from './fixtures.js';

const ORDERS = 'https://orders.example.com/';
const MAIL = 'http://mail.internal:8080/api';

for (const factory of storeFactories()) {
  describe(`${factory.name} store: grants`, () => {
    let testStore: TestStore;
    let store: Store;
    beforeAll(async () => {
      testStore = await factory.open();
      store = testStore.store;
    });
    afterAll(async () => testStore.cleanup());

    it('creates a grant on first upsert, then replaces its scopes keeping the id', async () => {
      const user = await store.users.create(newUser());
      const client = await store.clients.create(newClient());
      const created = await store.grants.upsert(user.id, client.id, ['openid', 'email'], NOW);
      expect(created).toEqual({
        id: expect.any(String),
        userId: user.id,
        clientId: client.id,
        scopes: ['openid', 'email'],
        claims: [],
        resources: [],
        createdAt: NOW,
        updatedAt: NOW,
        lastUsedAt: null,
      });
      const replaced = await store.grants.upsert(
        user.id,
        client.id,
        ['openid', 'profile'],
        NOW + 9,
        ['email', 'phone_number'],
      );
      expect(replaced).toEqual({
        ...created,
        scopes: ['openid', 'profile'],
        claims: ['email', 'phone_number'],
        updatedAt: NOW + 9,
      });
      expect(await store.grants.find(user.id, client.id)).toEqual(replaced);
      expect(await store.grants.findById(created.id)).toEqual(replaced);
    });

    it('round-trips a grant with no scopes', async () => {
      const user = await store.users.create(newUser());
      const client = await store.clients.create(newClient());
      const grant = await store.grants.upsert(user.id, client.id, [], NOW);
      expect((await store.grants.findById(grant.id))?.scopes).toEqual([]);
    });

    it('finds nothing for an unknown pair or id', async () => {
      const { userId, clientId } = await seedGrant(store);
      expect(await store.grants.find(userId, 'other-client')).toBeUndefined();
      expect(await store.grants.find('other-user', clientId)).toBeUndefined();
      expect(await store.grants.findById('no-such-grant')).toBeUndefined();
    });

    it('records when a grant was last used', async () => {
      const { grantId } = await seedGrant(store);
      await store.grants.touch(grantId, NOW + 42);
      expect((await store.grants.findById(grantId))?.lastUsedAt).toBe(NOW + 42);
    });

    it('writes "last used" at most once a minute per grant', async () => {
      const { grantId } = await seedGrant(store);
      await store.grants.touch(grantId, NOW + 100);
      await store.grants.touch(grantId, NOW + 159);
      expect((await store.grants.findById(grantId))?.lastUsedAt).toBe(NOW + 100);
      await store.grants.touch(grantId, NOW + 160);
      expect((await store.grants.findById(grantId))?.lastUsedAt).toBe(NOW + 160);
    });

    it("lists a user's grants oldest first with each client's name", async () => {
      const user = await store.users.create(newUser());
      const first = await store.clients.create(newClient({ name: 'First app' }));
      const second = await store.clients.create(newClient({ name: 'Second app' }));
      const g1 = await store.grants.upsert(user.id, first.id, ['openid'], NOW);
      const g2 = await store.grants.upsert(user.id, second.id, ['openid', 'email'], NOW + 1);
      await seedGrant(store); // someone else's
      expect(await store.grants.listForUser(user.id)).toEqual([
        { ...g1, clientName: 'First app' },
        { ...g2, clientName: 'Second app' },
      ]);
      expect(await store.grants.listForUser('nobody')).toEqual([]);
    });

    it('revokes a grant: deletes it and its codes, revokes its tokens, leaves other grants alone', async () => {
      const target = await seedGrant(store);
      const other = await seedGrant(store);
      const code = newCode(target);
      await store.codes.save(code);
      const refresh = newToken(target);
      const access = newToken(target, {
        kind: 'access',
        format: 'jwt',
        familyId: refresh.familyId,
      });
      await store.tokens.save(refresh);
      await store.tokens.save(access);
      const otherToken = newToken(other);
      await store.tokens.save(otherToken);
      const otherCode = newCode(other);
      await store.codes.save(otherCode);

      expect(await store.grants.revoke(target.grantId, NOW + 3)).toBe(true);

      expect(await store.grants.findById(target.grantId)).toBeUndefined();
      expect(await store.codes.consume(code.id, NOW)).toEqual({ status: 'missing' });
      expect((await store.tokens.find(refresh.id))?.revokedAt).toBe(NOW + 3);
      expect((await store.tokens.find(access.id))?.revokedAt).toBe(NOW + 3);
      expect(await store.tokens.find(otherToken.id)).toEqual(otherToken);
      expect(await store.grants.findById(other.grantId)).toBeDefined();
      expect((await store.codes.consume(otherCode.id, NOW)).status).toBe('consumed');
      expect(await store.grants.revoke(target.grantId, NOW + 4)).toBe(false);
    });

    it('keeps the first revocation time of a token already revoked when its grant goes', async () => {
      const target = await seedGrant(store);
      const token = newToken(target, { revokedAt: NOW + 1 });
      await store.tokens.save(token);
      await store.grants.revoke(target.grantId, NOW + 10);
      expect((await store.tokens.find(token.id))?.revokedAt).toBe(NOW + 1);
    });

    it('change: creates, widens and leaves a grant as its callback says, from the stored row', async () => {
      const user = await store.users.create(newUser());
      const client = await store.clients.create(newClient());
      const seen: (string[] | undefined)[] = [];
      const add =
        (scopes: string[], claims: string[] = []) =>
        (current?: { scopes: string[] }) => {
          seen.push(current?.scopes);
          return { scopes: [...(current?.scopes ?? []), ...scopes], claims };
        };
      const created = await store.grants.change(user.id, client.id, NOW, add(['openid']));
      expect(created).toMatchObject({ scopes: ['openid'], claims: [], createdAt: NOW });
      const widened = await store.grants.change(
        user.id,
        client.id,
        NOW + 5,
        add(['email'], ['phone_number']),
      );
      expect(widened).toEqual({
        ...created,
        scopes: ['openid', 'email'],
        claims: ['phone_number'],
        updatedAt: NOW + 5,
      });
      const left = await store.grants.change(user.id, client.id, NOW + 9, () => undefined);
      expect(left).toEqual(widened);
      expect(seen).toEqual([undefined, ['openid']]);
      expect(await store.grants.find(user.id, client.id)).toEqual(widened);
      // Nothing to create when the callback says so.
      const other = await store.clients.create(newClient());
      expect(await store.grants.change(user.id, other.id, NOW, () => undefined)).toBeUndefined();
      expect(await store.grants.find(user.id, other.id)).toBeUndefined();
    });

    it('upsert: resources are only added to, while scopes and claims are replaced', async () => {
      const user = await store.users.create(newUser());
      const client = await store.clients.create(newClient());
      const first = await store.grants.upsert(user.id, client.id, ['openid'], NOW, [], [ORDERS]);
      expect(first.resources).toEqual([ORDERS]);
      const second = await store.grants.upsert(user.id, client.id, ['email'], NOW + 1, [], [MAIL]);
      expect(second).toMatchObject({ id: first.id, scopes: ['email'], resources: [ORDERS, MAIL] });
      // Given none (or one held already), those stored stay.
      const third = await store.grants.upsert(
        user.id,
        client.id,
        ['openid'],
        NOW + 2,
        [],
        [ORDERS],
      );
      expect(third.resources).toEqual([ORDERS, MAIL]);
      expect((await store.grants.upsert(user.id, client.id, [], NOW + 3)).resources).toEqual([
        ORDERS,
        MAIL,
      ]);
      expect((await store.grants.find(user.id, client.id))?.resources).toEqual([ORDERS, MAIL]);
      expect((await store.grants.listForUser(user.id))[0]?.resources).toEqual([ORDERS, MAIL]);
    });

    it('change: records resources, adds to them, and never drops one a callback leaves out', async () => {
      const user = await store.users.create(newUser());
      const client = await store.clients.create(newClient());
      const created = await store.grants.change(user.id, client.id, NOW, () => ({
        scopes: ['openid'],
        claims: [],
        resources: [ORDERS, ORDERS],
      }));
      expect(created?.resources).toEqual([ORDERS]);
      const seen: string[][] = [];
      const widened = await store.grants.change(user.id, client.id, NOW + 1, (current) => {
        seen.push(current?.resources ?? []);
        return { scopes: current!.scopes, claims: [], resources: [MAIL] };
      });
      expect(seen).toEqual([[ORDERS]]);
      expect(widened?.resources).toEqual([ORDERS, MAIL]);
      // A callback written before grants had resources (none returned) keeps them all.
      const kept = await store.grants.change(user.id, client.id, NOW + 2, (current) => ({
        scopes: [...current!.scopes, 'email'],
        claims: [],
      }));
      expect(kept).toMatchObject({ scopes: ['openid', 'email'], resources: [ORDERS, MAIL] });
      expect(await store.grants.findById(created!.id)).toEqual(kept);
    });

    it('change: ten consents at once, each adding its own API, lose none of them', async () => {
      const user = await store.users.create(newUser());
      const client = await store.clients.create(newClient());
      const apis = Array.from({ length: 10 }, (_, i) => `https://api${i}.example.com/`);
      // No grant yet, then on the existing row: each consent adds its API to what it read.
      for (const round of [apis.slice(0, 5), apis.slice(5)]) {
        await Promise.all(
          round.map((api) =>
            store.grants.change(user.id, client.id, NOW, (current) => ({
              scopes: current?.scopes ?? ['openid'],
              claims: [],
              resources: [api],
            })),
          ),
        );
      }
      expect((await store.grants.find(user.id, client.id))?.resources.sort()).toEqual(
        [...apis].sort(),
      );
    });

    it('revoking a grant forgets its resources: a new grant starts with none', async () => {
      const user = await store.users.create(newUser());
      const client = await store.clients.create(newClient());
      const grant = await store.grants.upsert(user.id, client.id, ['openid'], NOW, [], [ORDERS]);
      expect(await store.grants.revoke(grant.id, NOW + 1)).toBe(true);
      const again = await store.grants.upsert(user.id, client.id, ['openid'], NOW + 2);
      expect(again.id).not.toBe(grant.id);
      expect(again.resources).toEqual([]);
    });

    it('change: ten consents at once, each adding its own scope, lose none of them', async () => {
      const user = await store.users.create(newUser());
      const client = await store.clients.create(newClient());
      const scopes = Array.from({ length: 10 }, (_, i) => `scope${i}`);
      // No grant yet: the first inserts it, the others change the row it inserted.
      await Promise.all(
        scopes.map((scope) =>
          store.grants.change(user.id, client.id, NOW, (current) => ({
            scopes: [...(current?.scopes ?? []), scope],
            claims: [],
          })),
        ),
      );
      expect((await store.grants.find(user.id, client.id))?.scopes.sort()).toEqual(scopes);
      // And again on the existing row.
      const more = scopes.map((scope) => `more:${scope}`);
      await Promise.all(
        more.map((scope) =>
          store.grants.change(user.id, client.id, NOW, (current) => ({
            scopes: [...(current?.scopes ?? []), scope],
            claims: [],
          })),
        ),
      );
      expect((await store.grants.find(user.id, client.id))?.scopes.sort()).toEqual(
        [...scopes, ...more].sort(),
      );
    });
  });
}
