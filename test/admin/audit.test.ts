import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testApp } from '../helpers/app.js';
import { TEST_ADMIN_KEY } from '../helpers/config.js';
import { makeUser } from '../helpers/oauth.js';
import { storeFactories, type TestStore } from '../helpers/stores.js';

const KEY = { 'x-admin-key': TEST_ADMIN_KEY };

describe.each(storeFactories())('admin API for the audit log on $name', (factory) => {
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

  it("lists what admins did, newest first, and one person's events by user_id", async () => {
    const { user: ann } = await makeUser(app.tessera, { username: 'ann' });
    const { user: bob } = await makeUser(app.tessera, { username: 'bob' });
    for (const [id, role] of [
      [ann.id, 'admin'],
      [bob.id, 'admin'],
      [ann.id, 'user'],
    ] as const) {
      const res = await app.inject({
        method: 'PATCH',
        url: `/admin/api/users/${id}/role`,
        headers: KEY,
        payload: { role },
      });
      expect(res.statusCode, res.body).toBe(200);
    }

    const all = await app.inject({ url: '/admin/api/audit', headers: KEY });
    expect(all.statusCode, all.body).toBe(200);
    const changes = all
      .json()
      .events.filter((e: { type: string }) => e.type === 'user.role_changed');
    expect(changes.map((e: { user_id: string }) => e.user_id)).toEqual([ann.id, bob.id, ann.id]);

    const anns = (
      await app.inject({ url: `/admin/api/audit?user_id=${ann.id}&limit=1`, headers: KEY })
    ).json();
    expect(anns.events).toHaveLength(1);
    expect(anns.events[0]).toMatchObject({ type: 'user.role_changed', user_id: ann.id });
    expect(anns.events[0].details).toMatchObject({ role: 'user' });
  });

  it('answers only an admin', async () => {
    const res = await app.inject({ url: '/admin/api/audit' });
    expect(res.statusCode).toBe(401);
    expect(res.json().error).toBe('unauthorized');
  });

  it.each([
    ['limit', '0'],
    ['limit', '501'],
    ['limit', 'x'],
    ['user_id', 'u'.repeat(201)],
  ])('refuses %s=%s with a 400 naming it', async (name, value) => {
    const res = await app.inject({ url: `/admin/api/audit?${name}=${value}`, headers: KEY });
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json()).toMatchObject({ error: 'invalid_request', field: name });
  });
});
