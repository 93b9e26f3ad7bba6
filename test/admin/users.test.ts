import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSession } from '../../src/domain/sessions.js';
import { testApp } from '../helpers/app.js';
import { TEST_ADMIN_KEY } from '../helpers/config.js';
import { makeUser } from '../helpers/oauth.js';
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

  it('needs admin authentication; a role assigned through it opens the API to that person', async () => {
    expect((await app.inject({ url: '/admin/api/users' })).statusCode).toBe(401);
    const { user } = await makeUser(app.tessera);
    const session = await startSession(app.tessera, { userId: user.id, amr: ['pwd'] });
    const cookie = { cookie: `tessera_session=${session.secret}` };
    const before = await app.inject({ url: '/admin/api/users', headers: cookie });
    expect(before.statusCode).toBe(403);
    await app.inject({
      method: 'PATCH',
      url: `/admin/api/users/${user.id}/role`,
      headers: KEY,
      payload: { role: 'admin' },
    });
    expect((await app.inject({ url: '/admin/api/users', headers: cookie })).statusCode).toBe(200);
  });
});
