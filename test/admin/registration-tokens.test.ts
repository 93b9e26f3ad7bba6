import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '../../src/lib/hash.js';
import { testApp } from '../helpers/app.js';
import { TEST_ADMIN_KEY } from '../helpers/config.js';

const KEY = { 'x-admin-key': TEST_ADMIN_KEY };

describe('admin API for initial access tokens', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await testApp({ env: { TESSERA_REGISTRATION: 'token' } });
  });
  afterAll(async () => app.close());

  const create = (payload: object, headers: Record<string, string> = KEY) =>
    app.inject({ method: 'POST', url: '/admin/api/registration-tokens', headers, payload });

  it('issues a token shown once and stored as its hash, lists it without the token, deletes it', async () => {
    const res = await create({ expires_in: 600, uses: 3 });
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body).toMatchObject({ uses_left: 3, expires_at: body.created_at + 600 });
    expect(body.token).toMatch(/^[\w-]{43}$/);
    const stored = await app.tessera.store.registrations.findInitialToken(sha256(body.token));
    expect(stored?.id).toBe(body.id);

    const list = await app.inject({ url: '/admin/api/registration-tokens', headers: KEY });
    expect(list.json().registration_tokens).toContainEqual({
      id: body.id,
      created_at: body.created_at,
      expires_at: body.expires_at,
      uses_left: 3,
    });
    expect(list.body).not.toContain(body.token);

    const url = `/admin/api/registration-tokens/${body.id}`;
    expect((await app.inject({ method: 'DELETE', url, headers: KEY })).statusCode).toBe(204);
    expect((await app.inject({ method: 'DELETE', url, headers: KEY })).statusCode).toBe(404);
  });

  it('issues a token without expiry or use limit from an empty body', async () => {
    const res = await create({});
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({ expires_at: null, uses_left: null });
  });

  it('refuses bad values and callers without the admin key', async () => {
    expect((await create({ uses: 0 })).statusCode).toBe(400);
    expect((await create({ expires_in: 'soon' })).statusCode).toBe(400);
    expect((await create({}, {})).statusCode).toBe(401);
    expect((await app.inject({ url: '/admin/api/registration-tokens' })).statusCode).toBe(401);
  });
});
