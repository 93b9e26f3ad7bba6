import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConflictError, type Store } from '../../src/store/types.js';
import { storeFactories, type TestStore } from '../helpers/stores.js';
import {
  NOW,
  newClient,
  newCode,
  newSession,
  newToken,
  newUser,
  seedGrant,
  unique,
} from './fixtures.js';

for (const factory of storeFactories()) {
  describe(`${factory.name} store: users`, () => {
    let testStore: TestStore;
    let store: Store;
    beforeAll(async () => {
      testStore = await factory.open();
      store = testStore.store;
    });
    afterAll(async () => testStore.cleanup());

    it('creates a user and reads back every field exactly', async () => {
      const input = newUser();
      const created = await store.users.create(input);
      const expected = { ...input, pendingEmail: null, updatedAt: input.createdAt };
      expect(created).toEqual(expected);
      expect(await store.users.findById(input.id)).toEqual(expected);
    });

    it('round-trips false flags, the user role and null profile fields', async () => {
      const input = newUser({
        emailVerified: false,
        phoneNumberVerified: false,
        twoFactor: false,
        role: 'user',
        passwordHash: null,
        givenName: null,
        familyName: null,
        nickname: null,
        website: null,
        birthdate: null,
        zoneinfo: null,
        locale: null,
        phoneNumber: null,
        address: null,
      });
      await store.users.create(input);
      expect(await store.users.findById(input.id)).toEqual({
        ...input,
        pendingEmail: null,
        updatedAt: input.createdAt,
      });
    });

    it('refuses a username taken in another case and stores nothing', async () => {
      const first = await store.users.create(newUser());
      const clash = newUser({ username: first.username.toUpperCase() });
      await expect(store.users.create(clash)).rejects.toEqual(new ConflictError('username'));
      expect(await store.users.findById(clash.id)).toBeUndefined();
      expect(await store.users.findByLogin(clash.email)).toBeUndefined();
    });

    it('refuses an e-mail taken in another case and stores nothing', async () => {
      const first = await store.users.create(newUser());
      const clash = newUser({ email: first.email.toUpperCase() });
      const error = await store.users.create(clash).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConflictError);
      expect((error as ConflictError).field).toBe('email');
      expect(await store.users.findById(clash.id)).toBeUndefined();
      expect(await store.users.findByLogin(clash.username)).toBeUndefined();
    });

    it('finds a user by username or e-mail in any case', async () => {
      const user = await store.users.create(newUser({ username: `Mixed${unique()}` }));
      for (const login of [
        user.username,
        user.username.toLowerCase(),
        user.username.toUpperCase(),
        user.email,
        user.email.toUpperCase(),
      ]) {
        expect((await store.users.findByLogin(login))?.id, login).toBe(user.id);
      }
      expect(await store.users.findByLogin(`nobody${unique()}`)).toBeUndefined();
      expect(await store.users.findById('no-such-id')).toBeUndefined();
    });

    it('keeps e-mail addresses unique, and finds them, in folded form (NFKC, any case)', async () => {
      const tag = unique();
      const user = await store.users.create(
        newUser({ username: `fold${tag}`, email: `Alice${tag}@example.com` }),
      );
      const fullwidth = (text: string) =>
        text.replace(/[!-~]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0));
      for (const email of [
        `alice${tag}@example.com`,
        `ALICE${tag}@EXAMPLE.COM`,
        fullwidth(`alice${tag}@example.com`),
      ]) {
        const clash = newUser({ email });
        const error = await store.users.create(clash).catch((e: unknown) => e);
        expect(error, email).toEqual(new ConflictError('email'));
        expect(await store.users.findById(clash.id)).toBeUndefined();
        expect((await store.users.findByLogin(email))?.id, email).toBe(user.id);
      }
      // The address itself is kept as given; only the key is folded.
      expect((await store.users.findById(user.id))?.email).toBe(`Alice${tag}@example.com`);
      expect((await store.users.findByLogin(fullwidth(`fold${tag}`)))?.id).toBe(user.id);
      const other = await store.users.create(newUser());
      await expect(
        store.users.update(other.id, { email: fullwidth(`alice${tag}@example.com`) }, NOW + 1),
      ).rejects.toEqual(new ConflictError('email'));
      expect(await store.users.findById(other.id)).toEqual(other);
      expect(await store.users.count(fullwidth(`alice${tag}`))).toBe(1);
    });

    it('lets one of ten sign-ups racing with forms of one address through', async () => {
      const tag = unique();
      const forms = ['a', 'A', 'ａ', 'Ａ'].map((first) => `${first}da${tag}@example.com`);
      const results = await Promise.allSettled(
        Array.from({ length: 10 }, (_, i) => store.users.create(newUser({ email: forms[i % 4] }))),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const r of results) {
        if (r.status === 'rejected') expect(r.reason).toEqual(new ConflictError('email'));
      }
      expect(await store.users.count(`ada${tag}`)).toBe(1);
    });

    it('prefers the username match when a username equals another user’s e-mail', async () => {
      const owner = await store.users.create(newUser());
      const squatter = await store.users.create(newUser({ username: owner.email }));
      expect((await store.users.findByLogin(owner.email))?.id).toBe(squatter.id);
    });

    it('updates the given fields, keeps the rest and sets updatedAt', async () => {
      const user = await store.users.create(newUser());
      const newName = `Renamed${unique()}`;
      const updated = await store.users.update(
        user.id,
        {
          username: newName,
          givenName: null,
          address: { formatted: 'Somewhere 1\nElsewhere' },
          emailVerified: false,
          role: 'user',
        },
        NOW + 5,
      );
      const expected = {
        ...user,
        username: newName,
        givenName: null,
        address: { formatted: 'Somewhere 1\nElsewhere' },
        emailVerified: false,
        role: 'user',
        updatedAt: NOW + 5,
      };
      expect(updated).toEqual(expected);
      expect(await store.users.findById(user.id)).toEqual(expected);
      expect((await store.users.findByLogin(newName.toLowerCase()))?.id).toBe(user.id);
      expect(await store.users.findByLogin(user.username)).toBeUndefined();
    });

    it('answers undefined when updating a user that does not exist', async () => {
      expect(await store.users.update('no-such-id', { givenName: 'X' }, NOW)).toBeUndefined();
    });

    it('refuses an update to a taken username or e-mail and leaves the row unchanged', async () => {
      const a = await store.users.create(newUser());
      const b = await store.users.create(newUser());
      await expect(
        store.users.update(b.id, { username: a.username.toUpperCase(), givenName: 'X' }, NOW + 1),
      ).rejects.toEqual(new ConflictError('username'));
      await expect(
        store.users.update(b.id, { email: a.email.toUpperCase(), givenName: 'X' }, NOW + 1),
      ).rejects.toEqual(new ConflictError('email'));
      expect(await store.users.findById(b.id)).toEqual(b);
    });

    it('lets a user change the case of their own username', async () => {
      const user = await store.users.create(newUser());
      const updated = await store.users.update(
        user.id,
        { username: user.username.toUpperCase() },
        NOW + 1,
      );
      expect(updated?.username).toBe(user.username.toUpperCase());
    });

    it('deletes a user with their grants, codes, tokens, sessions and session links', async () => {
      const owner = await seedGrant(store);
      const other = await seedGrant(store);
      const session = newSession(owner.userId);
      await store.sessions.create(session);
      await store.sessions.addClient(session.id, owner.clientId, NOW);
      const code = newCode(owner);
      await store.codes.save(code);
      const token = newToken(owner);
      await store.tokens.save(token);
      const otherSession = newSession(other.userId);
      await store.sessions.create(otherSession);
      await store.sessions.addClient(otherSession.id, other.clientId, NOW);
      const otherToken = newToken(other);
      await store.tokens.save(otherToken);

      expect(await store.users.delete(owner.userId)).toBe(true);

      expect(await store.users.findById(owner.userId)).toBeUndefined();
      expect(await store.grants.findById(owner.grantId)).toBeUndefined();
      expect(await store.codes.consume(code.id, NOW)).toEqual({ status: 'missing' });
      expect(await store.tokens.find(token.id)).toBeUndefined();
      expect(await store.sessions.findById(session.id)).toBeUndefined();
      expect(await store.sessions.listClients(session.id)).toEqual([]);
      // The client itself and everyone else's data stay.
      expect(await store.clients.findById(owner.clientId)).toBeDefined();
      expect(await store.grants.findById(other.grantId)).toBeDefined();
      expect(await store.tokens.find(otherToken.id)).toEqual(otherToken);
      expect(await store.sessions.listClients(otherSession.id)).toEqual([other.clientId]);
      expect(await store.users.delete(owner.userId)).toBe(false);
    });

    it('lists users oldest first with limit and offset, and counts them', async () => {
      const prefix = `list${unique()}`;
      const made = [];
      for (let i = 0; i < 5; i++) {
        made.push(
          await store.users.create(
            newUser({
              username: `${prefix}${i}`,
              email: `${prefix}${i}@example.org`,
              createdAt: NOW + i,
            }),
          ),
        );
      }
      const ids = made.map((u) => u.id);
      expect(
        (await store.users.list({ limit: 10, offset: 0, search: prefix })).map((u) => u.id),
      ).toEqual(ids);
      expect(
        (await store.users.list({ limit: 2, offset: 1, search: prefix })).map((u) => u.id),
      ).toEqual(ids.slice(1, 3));
      expect(await store.users.list({ limit: 2, offset: 5, search: prefix })).toEqual([]);
      expect(await store.users.count(prefix)).toBe(5);
      const all = await store.users.count();
      expect(all).toBeGreaterThanOrEqual(5);
      expect((await store.users.list({ limit: 1000, offset: 0 })).length).toBe(all);
    });

    it('searches by the start of username or e-mail, case-insensitively', async () => {
      const tag = unique();
      const byName = await store.users.create(
        newUser({ username: `Zed${tag}`, email: `someone${tag}@example.com` }),
      );
      const byMail = await store.users.create(
        newUser({ username: `other${tag}`, email: `zed${tag}@example.com` }),
      );
      await store.users.create(newUser({ username: `x${tag}zed`, email: `x${tag}@zed.example` }));
      const found = await store.users.list({ limit: 10, offset: 0, search: `ZED${tag}` });
      expect(found.map((u) => u.id).sort()).toEqual([byName.id, byMail.id].sort());
      expect(await store.users.count(`zed${tag}`)).toBe(2);
    });

    it('treats % and _ in a search as plain characters', async () => {
      const tag = unique();
      const literal = await store.users.create(newUser({ username: `p_${tag}` }));
      await store.users.create(newUser({ username: `px${tag}` }));
      await store.users.create(newUser({ username: `p%${tag}` }));
      expect(
        (await store.users.list({ limit: 10, offset: 0, search: `p_${tag}` })).map((u) => u.id),
      ).toEqual([literal.id]);
      expect(await store.users.count(`p%`)).toBe(1);
    });

    it('keeps a client when its users are deleted', async () => {
      const client = await store.clients.create(newClient());
      const user = await store.users.create(newUser());
      await store.grants.upsert(user.id, client.id, ['openid'], NOW);
      await store.users.delete(user.id);
      expect(await store.clients.findById(client.id)).toEqual({ ...client });
    });
  });
}
