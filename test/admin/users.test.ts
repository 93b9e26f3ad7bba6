import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSession } from '../../src/domain/sessions.js';
import { testApp } from '../helpers/app.js';
import { TEST_ADMIN_KEY } from '../helpers/config.js';
import { makeUser } from '../helpers/oauth.js';
import { authenticate } from '../helpers/passwords.js';
import { storeFactories, type TestStore } from '../helpers/stores.js';

const KEY = { 'x-admin-key': TEST_ADMIN_KEY };

/** Seed 004's all-users-data and assign-role. */
describe.each(storeFactories())('admin API for users on $name', (factory) => {
  let app: FastifyInstance;
  let opened: TestStore;
  beforeAll(async () => {
    opened = await factory.open();
    app = await testApp({ store: opened.store });
  });
  afterAll(async () => {
    await app.close();
    await opened.cleanup();
  });

  it('lists users with a total, pages and searches, never showing password hashes', async () => {
    const made = [];
    for (const username of ['ann', 'anna', 'bob'])
      made.push(await makeUser(app.tessera, { username }));
    const all = (await app.inject({ url: '/admin/api/users', headers: KEY })).json();
    expect(all.total).toBe(3);
    expect(all.users).toHaveLength(3);
    expect(JSON.stringify(all)).not.toContain('argon2');
    const page = (
      await app.inject({ url: '/admin/api/users?limit=2&offset=2', headers: KEY })
    ).json();
    expect(page.users).toHaveLength(1);
    const search = (await app.inject({ url: '/admin/api/users?q=ann', headers: KEY })).json();
    expect(search.total).toBe(2);
  });

  it.each([
    ['offset', '99999999999999999999'],
    ['offset', '1e308'],
    ['offset', '1e309'],
    ['offset', '-1'],
    ['offset', '1.5'],
    ['offset', 'abc'],
    ['limit', '0'],
    ['limit', '501'],
    ['limit', '1e308'],
  ])('refuses %s=%s with a 400 naming it, never a 500 (bounded integers)', async (name, value) => {
    const res = await app.inject({ url: `/admin/api/users?${name}=${value}`, headers: KEY });
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json()).toMatchObject({ error: 'invalid_request', field: name });
  });

  it('pages past the end with the largest offset it takes', async () => {
    const res = await app.inject({ url: '/admin/api/users?offset=2147483647', headers: KEY });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().users).toEqual([]);
  });

  it('assigns a role', async () => {
    const { user } = await makeUser(app.tessera);
    const res = await app.inject({
      method: 'PATCH',
      url: `/admin/api/users/${user.id}/role`,
      headers: KEY,
      payload: { role: 'admin' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().role).toBe('admin');
    expect((await app.tessera.store.users.findById(user.id))?.role).toBe('admin');
    const bad = await app.inject({
      method: 'PATCH',
      url: `/admin/api/users/${user.id}/role`,
      headers: KEY,
      payload: { role: 'root' },
    });
    expect(bad.statusCode).toBe(400);
    expect((await app.tessera.store.users.findById(user.id))?.role).toBe('admin');
  });

  it('reads and deletes a user; an unknown one is a 404', async () => {
    const { user } = await makeUser(app.tessera);
    expect(
      (await app.inject({ url: `/admin/api/users/${user.id}`, headers: KEY })).json().username,
    ).toBe(user.username);
    expect(
      (await app.inject({ method: 'DELETE', url: `/admin/api/users/${user.id}`, headers: KEY }))
        .statusCode,
    ).toBe(204);
    expect(
      (await app.inject({ url: `/admin/api/users/${user.id}`, headers: KEY })).statusCode,
    ).toBe(404);
    const unknown = await app.inject({
      method: 'PATCH',
      url: '/admin/api/users/nope/role',
      headers: KEY,
      payload: { role: 'user' },
    });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toMatchObject({ error: 'not_found' });
    const unknownDelete = await app.inject({
      method: 'DELETE',
      url: '/admin/api/users/nope',
      headers: KEY,
    });
    expect(unknownDelete.statusCode).toBe(404);
  });

  it('creates a person with the sign-up rules, never answering the password back', async () => {
    const password = 'a grace period of ten days';
    const res = await app.inject({
      method: 'POST',
      url: '/admin/api/users',
      headers: KEY,
      payload: {
        username: 'grace',
        email: 'Grace@EXAMPLE.com',
        password,
        given_name: 'Grace',
        role: 'admin',
        email_verified: true,
      },
    });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({
      username: 'grace',
      email: 'Grace@example.com',
      given_name: 'Grace',
      role: 'admin',
      email_verified: true,
    });
    expect(res.body).not.toContain(password);
    expect(res.body).not.toContain('argon2');
    const id = res.json().id as string;
    expect((await authenticate(app.tessera, 'GRACE@example.com', password))?.id).toBe(id);
    const [created] = await app.tessera.store.audit.list({ limit: 1, userId: id });
    expect(created).toMatchObject({ type: 'user.created', details: { via: 'admin' } });
    expect(JSON.stringify(created)).not.toContain(password);

    // Defaults: role user, address unverified.
    const plain = await app.inject({
      method: 'POST',
      url: '/admin/api/users',
      headers: KEY,
      payload: { username: 'plain_person', email: 'plain@example.com', password },
    });
    expect(plain.json()).toMatchObject({ role: 'user', email_verified: false });
  });

  it('refuses to create a person with a weak password, a taken address or without admin rights', async () => {
    const count = await app.tessera.store.users.count();
    const create = (payload: object, headers: Record<string, string> = KEY) =>
      app.inject({ method: 'POST', url: '/admin/api/users', headers, payload });
    for (const password of ['password', '12345678', 'qwertyuiop', 'weak_admin_made']) {
      const res = await create({
        username: 'weak_admin_made',
        email: 'weak@example.com',
        password,
      });
      expect(res.statusCode, password).toBe(400);
      expect(res.json()).toMatchObject({ error: 'invalid_request', field: 'password' });
    }
    const { user } = await makeUser(app.tessera);
    const taken = await create({
      username: 'someone_new',
      email: user.email.toUpperCase(),
      password: 'a perfectly fine passphrase',
    });
    expect(taken.statusCode).toBe(409);
    expect(taken.json()).toMatchObject({ error: 'conflict', field: 'email' });
    const bad = await create({
      username: 'x_y_z',
      email: 'xyz@example.com',
      password: 'a fine one',
      role: 'root',
    });
    expect(bad.statusCode).toBe(400);
    const anonymous = await create(
      {
        username: 'intruder',
        email: 'intruder@example.com',
        password: 'a perfectly fine passphrase',
      },
      {},
    );
    expect(anonymous.statusCode).toBe(401);
    expect(await app.tessera.store.users.count()).toBe(count + 1);
  });

  it("sets a person's password: the rule applies, every session ends, it is audited", async () => {
    const { user, password: old } = await makeUser(app.tessera);
    const sessions = await Promise.all(
      [1, 2].map(() => startSession(app.tessera, { userId: user.id, amr: ['pwd'] })),
    );
    const set = (payload: object, id = user.id) =>
      app.inject({ method: 'POST', url: `/admin/api/users/${id}/password`, headers: KEY, payload });

    const weak = await set({ password: user.username });
    expect(weak.statusCode).toBe(400);
    expect(weak.json()).toMatchObject({
      error: 'invalid_request',
      error_description: 'password must not be the same as the username or email address',
      field: 'password',
    });
    expect(await authenticate(app.tessera, user.username, old)).toBeDefined();
    const now = Math.floor(Date.now() / 1000);
    expect(await app.tessera.store.sessions.listActiveForUser(user.id, now)).toHaveLength(2);

    const fresh = 'handed over at the front desk';
    const res = await set({ password: fresh });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ id: user.id, username: user.username, sessions_ended: 2 });
    expect(res.body).not.toContain(fresh);
    expect(await authenticate(app.tessera, user.username, old)).toBeUndefined();
    expect((await authenticate(app.tessera, user.username, fresh))?.id).toBe(user.id);
    for (const { session } of sessions) {
      expect((await app.tessera.store.sessions.findById(session.id))?.endedAt).not.toBeNull();
    }
    const [event] = await app.tessera.store.audit.list({ limit: 1, userId: user.id });
    expect(event).toMatchObject({
      type: 'security.password_changed',
      details: { by: 'admin', sessions_ended: 2 },
    });
    expect(JSON.stringify(event)).not.toContain(fresh);

    const unknown = await set({ password: fresh }, 'nope');
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toMatchObject({ error: 'not_found' });
    expect((await set({})).statusCode).toBe(400);
    const anonymous = await app.inject({
      method: 'POST',
      url: `/admin/api/users/${user.id}/password`,
      payload: { password: 'taken over by a stranger' },
    });
    expect(anonymous.statusCode).toBe(401);
    expect((await authenticate(app.tessera, user.username, fresh))?.id).toBe(user.id);
  });

  it('needs admin authentication; a role assigned through it opens the API to that person', async () => {
    expect((await app.inject({ url: '/admin/api/users' })).statusCode).toBe(401);
    const { user } = await makeUser(app.tessera);
    const session = await startSession(app.tessera, { userId: user.id, amr: ['pwd'] });
    const cookie = { cookie: `tessera_session=${session.secret}` };
    const before = await app.inject({ url: '/admin/api/users', headers: cookie });
    expect(before.statusCode).toBe(403);
    expect(before.json()).toMatchObject({ error: 'forbidden' });
    await app.inject({
      method: 'PATCH',
      url: `/admin/api/users/${user.id}/role`,
      headers: KEY,
      payload: { role: 'admin' },
    });
    expect((await app.inject({ url: '/admin/api/users', headers: cookie })).statusCode).toBe(200);
  });
});
