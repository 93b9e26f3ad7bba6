import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiCache } from '../../src/domain/api-cache.js';
import type { Api, ApiStore } from '../../src/store/types.js';
import { testApp } from '../helpers/app.js';
import { TEST_ADMIN_KEY } from '../helpers/config.js';
import { storeFactories, type TestStore } from '../helpers/stores.js';

const KEY = { 'x-admin-key': TEST_ADMIN_KEY };

describe.each(storeFactories())('admin API for APIs on $name', (factory) => {
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

  const create = (payload: Record<string, unknown>) =>
    app.inject({ method: 'POST', url: '/admin/api/apis', headers: KEY, payload });

  it('creates, reads, lists, updates and deletes an API, with audit records', async () => {
    const made = await create({
      identifier: 'https://orders.example.com/',
      name: 'Orders API',
      scopes: 'orders:read orders:write',
      access_token_format: 'opaque',
      access_token_ttl: 600,
    });
    expect(made.statusCode, made.body).toBe(201);
    const body = made.json();
    expect(body).toMatchObject({
      identifier: 'https://orders.example.com/',
      name: 'Orders API',
      scopes: ['orders:read', 'orders:write'],
      access_token_format: 'opaque',
      access_token_ttl: 600,
      open_to_self_registered: false,
    });
    expect(body.client_secret).toMatch(/^[\w-]{43}$/);
    const read = await app.inject({ url: `/admin/api/apis/${body.id}`, headers: KEY });
    expect(read.json()).not.toHaveProperty('client_secret');
    const introspector = await app.tessera.store.clients.findById(body.client_id);
    expect(introspector).toMatchObject({ resourceServer: true, grantTypes: [] });

    const changed = await app.inject({
      method: 'PATCH',
      url: `/admin/api/apis/${body.id}`,
      headers: KEY,
      payload: { name: 'Orders', access_token_ttl: null, open_to_self_registered: true },
    });
    expect(changed.statusCode, changed.body).toBe(200);
    expect(changed.json()).toMatchObject({
      name: 'Orders',
      access_token_ttl: null,
      open_to_self_registered: true,
      access_token_format: 'opaque',
    });
    const list = (await app.inject({ url: '/admin/api/apis', headers: KEY })).json();
    expect(list.apis.map((a: { id: string }) => a.id)).toContain(body.id);

    const gone = await app.inject({
      method: 'DELETE',
      url: `/admin/api/apis/${body.id}`,
      headers: KEY,
    });
    expect(gone.statusCode).toBe(204);
    expect(await app.tessera.store.clients.findById(body.client_id)).toBeUndefined();
    const again = await app.inject({
      method: 'DELETE',
      url: `/admin/api/apis/${body.id}`,
      headers: KEY,
    });
    expect(again.statusCode).toBe(404);
    const audit = (await app.inject({ url: '/admin/api/audit?limit=50', headers: KEY })).json();
    const types = audit.events.map((e: { type: string }) => e.type);
    expect(types).toEqual(expect.arrayContaining(['api.created', 'api.updated', 'api.deleted']));
  });

  it.each([
    [{ identifier: 'orders', name: 'x' }, 'identifier'],
    [{ identifier: 'https://a.example/#frag', name: 'x' }, 'identifier'],
    [{ identifier: 'javascript:alert(1)', name: 'x' }, 'identifier'],
    [{ identifier: 'https://b.example/', name: '' }, 'name'],
    [{ identifier: 'https://c.example/', name: 'x', scopes: 'openid' }, 'scopes'],
    [{ identifier: 'https://d.example/', name: 'x', scopes: 'bad"scope' }, 'scopes'],
    [{ identifier: 'https://e.example/', name: 'x', access_token_format: 'paseto' }, 'format'],
    [{ identifier: 'https://f.example/', name: 'x', access_token_ttl: 0 }, 'ttl'],
  ])('refuses %j with a 400 naming the problem', async (payload, word) => {
    const res = await create(payload);
    expect(res.statusCode, res.body).toBe(400);
    expect(JSON.stringify(res.json())).toContain(word);
  });

  it('refuses a second API with the same identifier, and a change of identifier', async () => {
    const first = await create({ identifier: 'https://twice.example/', name: 'One' });
    expect(first.statusCode).toBe(201);
    expect((await create({ identifier: 'https://twice.example/', name: 'Two' })).statusCode).toBe(
      409,
    );
    const res = await app.inject({
      method: 'PATCH',
      url: `/admin/api/apis/${first.json().id}`,
      headers: KEY,
      payload: { identifier: 'https://elsewhere.example/' },
    });
    expect(res.statusCode).toBe(400);
  });

  it('refuses a scope another API defines: each scope belongs to one API', async () => {
    const first = await create({
      identifier: 'https://scopes-a.example/',
      name: 'A',
      scopes: 'shared:read',
    });
    expect(first.statusCode).toBe(201);
    const second = await create({
      identifier: 'https://scopes-b.example/',
      name: 'B',
      scopes: 'b:read shared:read',
    });
    expect(second.statusCode).toBe(400);
    expect(second.json().error_description ?? second.body).toContain('belongs to the API "A"');
    const b = await create({
      identifier: 'https://scopes-b.example/',
      name: 'B',
      scopes: 'b:read',
    });
    const widened = await app.inject({
      method: 'PATCH',
      url: `/admin/api/apis/${b.json().id}`,
      headers: KEY,
      payload: { scopes: ['b:read', 'shared:read'] },
    });
    expect(widened.statusCode).toBe(400);
    // An API keeps its own scopes when it is updated.
    const same = await app.inject({
      method: 'PATCH',
      url: `/admin/api/apis/${first.json().id}`,
      headers: KEY,
      payload: { scopes: ['shared:read', 'shared:write'] },
    });
    expect(same.statusCode, same.body).toBe(200);
  });

  it('answers only an admin', async () => {
    expect((await app.inject({ url: '/admin/api/apis' })).statusCode).toBe(401);
  });

  it('stores and shows the APIs a client may use (allowed_resources), refusing non-URIs', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/admin/api/clients',
      headers: KEY,
      payload: {
        client_name: 'Shop',
        redirect_uris: ['https://shop.example/cb'],
        allowed_resources: ['https://orders.example.com/'],
      },
    });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json().allowed_resources).toEqual(['https://orders.example.com/']);
    const bad = await app.inject({
      method: 'PATCH',
      url: `/admin/api/clients/${res.json().client_id}`,
      headers: KEY,
      payload: { allowed_resources: ['/relative'] },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error_description ?? bad.body).toContain('allowed_resources');
  });
});

describe('the API cache', () => {
  const api = (identifier: string): Api => ({
    id: identifier,
    identifier,
    name: identifier,
    scopes: [],
    accessTokenFormat: null,
    accessTokenTtl: null,
    openToSelfRegistered: false,
    clientId: `c-${identifier}`,
    createdAt: 0,
    updatedAt: 0,
  });
  function countingStore(apis: Api[]) {
    const counter = { reads: 0 };
    const store = {
      list: async () => {
        counter.reads += 1;
        return [...apis];
      },
    } as unknown as ApiStore;
    return { store, counter };
  }

  it('reads the database once, then serves from memory until invalidated', async () => {
    const apis = [api('https://a.example/')];
    const { store, counter } = countingStore(apis);
    const cache = new ApiCache(store, 60_000);
    await Promise.all([cache.get(), cache.get(), cache.get()]);
    expect(counter.reads).toBe(1);
    expect((await cache.get()).byIdentifier.get('https://a.example/')?.clientId).toBe(
      'c-https://a.example/',
    );
    apis.push(api('https://b.example/'));
    cache.invalidate();
    expect((await cache.get()).byIdentifier.has('https://b.example/')).toBe(true);
    expect(counter.reads).toBe(2);
  });

  it('past its lifetime, answers at once with what it has and reloads in the background', async () => {
    let now = 0;
    const apis = [api('https://a.example/')];
    const { store, counter } = countingStore(apis);
    const cache = new ApiCache(store, 5_000, () => now);
    await cache.get();
    apis.push(api('https://b.example/'));
    now = 6_000;
    expect((await cache.get()).all).toHaveLength(1);
    await new Promise((resolve) => setImmediate(resolve));
    expect((await cache.get()).all).toHaveLength(2);
    expect(counter.reads).toBe(2);
  });

  it('tells other instances when invalidated', () => {
    let told = 0;
    const cache = new ApiCache(countingStore([]).store, 5_000, Date.now, () => (told += 1));
    cache.invalidate();
    cache.forget();
    expect(told).toBe(1);
  });
});
