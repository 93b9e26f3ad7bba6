import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSession } from '../../src/domain/sessions.js';
import { sha256 } from '../../src/lib/hash.js';
import { secretMatches } from '../../src/oauth/client-auth.js';
import { testApp } from '../helpers/app.js';
import { TEST_ADMIN_KEY } from '../helpers/config.js';
import { makeUser } from '../helpers/oauth.js';
import { storeFactories, type TestStore } from '../helpers/stores.js';

const KEY = { 'x-admin-key': TEST_ADMIN_KEY };

describe.each(storeFactories())('admin API for clients on $name', (factory) => {
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

  const register = (payload: unknown, headers: Record<string, string> = KEY) =>
    app.inject({ method: 'POST', url: '/admin/api/clients', headers, payload: payload as object });

  /** Every stored client, to prove a refused request changed nothing. */
  const snapshot = async () => JSON.stringify(await app.tessera.store.clients.list());

  it("registers a client from seed 003's body and shows the secret once, stored hashed", async () => {
    const res = await register({
      app_name: 'Test App',
      contact_email: 'contact@app.com',
      redirect_url: 'https://localhost:8080/test',
    });
    expect(res.statusCode).toBe(201);
    expect(res.headers['cache-control']).toBe('no-store');
    const body = res.json();
    expect(body).toMatchObject({
      success: true,
      client_name: 'Test App',
      redirect_url: 'https://localhost:8080/test',
    });
    expect(body.redirect_uris).toEqual(['https://localhost:8080/test']);
    expect(body.client_secret.length).toBeGreaterThanOrEqual(43);

    const stored = await app.tessera.store.clients.findById(body.client_id);
    expect(stored!.secretHash).toBe(sha256(body.client_secret));
    expect(stored!.secretHash).not.toContain(body.client_secret);
    expect(JSON.stringify(stored)).not.toContain(body.client_secret);

    const read = await app.inject({ url: `/admin/api/clients/${body.client_id}`, headers: KEY });
    const listed = await app.inject({ url: '/admin/api/clients', headers: KEY });
    for (const later of [read.body, listed.body]) {
      expect(later).not.toContain(body.client_secret);
      expect(later).not.toContain(stored!.secretHash!);
      expect(later).not.toContain('client_secret"');
    }
  });

  it('takes RFC 7591 names and the per-client settings', async () => {
    const res = await register({
      client_name: 'Full',
      redirect_uris: ['https://a.example/cb', 'com.example.app:/cb'],
      post_logout_redirect_uris: ['https://a.example/bye'],
      grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
      response_types: ['code', 'code id_token'],
      scope: 'openid email api:read',
      token_endpoint_auth_method: 'client_secret_post',
      access_token_format: 'opaque',
      id_token_signed_response_alg: 'ES256',
      userinfo_signed_response_alg: 'EdDSA',
      backchannel_logout_uri: 'https://a.example/bc',
      default_max_age: 3600,
      require_auth_time: true,
      first_party: true,
      require_pkce: true,
      require_pushed_authorization_requests: true,
    });
    expect(res.statusCode).toBe(201);
    expect(res.json().require_pushed_authorization_requests).toBe(true);
    const c = await app.tessera.store.clients.findById(res.json().client_id);
    expect(c).toMatchObject({
      scopes: ['openid', 'email', 'api:read'],
      tokenEndpointAuthMethod: 'client_secret_post',
      accessTokenFormat: 'opaque',
      idTokenSignedResponseAlg: 'ES256',
      userinfoSignedResponseAlg: 'EdDSA',
      backchannelLogoutUri: 'https://a.example/bc',
      defaultMaxAge: 3600,
      requireAuthTime: true,
      firstParty: true,
      requirePkce: true,
      requirePushedAuthorizationRequests: true,
      postLogoutRedirectUris: ['https://a.example/bye'],
    });
    // And off again over PATCH.
    const off = await app.inject({
      method: 'PATCH',
      url: `/admin/api/clients/${c!.id}`,
      headers: KEY,
      payload: { require_pushed_authorization_requests: false },
    });
    expect(off.json().require_pushed_authorization_requests).toBe(false);
    expect(
      (await app.tessera.store.clients.findById(c!.id))?.requirePushedAuthorizationRequests,
    ).toBe(false);
  });

  it('sets and clears default_max_age and require_auth_time over PATCH, and the other settings null clears', async () => {
    const id = (
      await register({
        client_name: 'Ages',
        redirect_uris: ['https://a.example/cb'],
        userinfo_signed_response_alg: 'ES256',
        backchannel_logout_uri: 'https://a.example/bc',
      })
    ).json().client_id;
    const patch = (payload: object) =>
      app.inject({ method: 'PATCH', url: `/admin/api/clients/${id}`, headers: KEY, payload });
    const set = await patch({ default_max_age: 600, require_auth_time: true });
    expect(set.statusCode).toBe(200);
    expect(set.json()).toMatchObject({ default_max_age: 600, require_auth_time: true });
    expect(await app.tessera.store.clients.findById(id)).toMatchObject({
      defaultMaxAge: 600,
      requireAuthTime: true,
    });
    const cleared = await patch({
      default_max_age: null,
      require_auth_time: false,
      userinfo_signed_response_alg: null,
      backchannel_logout_uri: null,
    });
    expect(cleared.statusCode, cleared.body).toBe(200);
    expect(await app.tessera.store.clients.findById(id)).toMatchObject({
      defaultMaxAge: null,
      requireAuthTime: false,
      userinfoSignedResponseAlg: null,
      backchannelLogoutUri: null,
    });
  });

  it('registers a public client without a secret', async () => {
    const res = await register({
      client_name: 'SPA',
      redirect_uris: ['http://localhost:5173/cb'],
      token_endpoint_auth_method: 'none',
    });
    expect(res.statusCode).toBe(201);
    expect(res.json().client_secret).toBeUndefined();
    expect(res.json().client_type).toBe('public');
  });

  it('answers 401 with a wrong or missing key, and stores nothing', async () => {
    const before = await snapshot();
    for (const headers of [
      {} as Record<string, string>,
      { 'x-admin-key': 'wrong-key' },
      { 'x-admin-key': `${TEST_ADMIN_KEY}x` },
    ]) {
      const res = await register(
        { client_name: 'Nope', redirect_uris: ['https://a.example/cb'] },
        headers,
      );
      expect(res.statusCode).toBe(401);
      expect(res.json().error).toBe('unauthorized');
      expect(res.headers['www-authenticate']).toBeTruthy();
    }
    expect((await app.inject({ url: '/admin/api/clients' })).statusCode).toBe(401);
    expect(await snapshot()).toBe(before);
  });

  it('lets a signed-in admin in (JSON only), keeps a signed-in non-admin out with 403', async () => {
    const { user } = await makeUser(app.tessera);
    const session = await startSession(app.tessera, { userId: user.id, amr: ['pwd'] });
    const cookie = { cookie: `tessera_session=${session.secret}` };
    const payload = { client_name: 'By session', redirect_uris: ['https://a.example/cb'] };
    const refused = await register(payload, cookie);
    expect(refused.statusCode).toBe(403);
    expect(refused.json().error).toBe('forbidden');
    await app.tessera.store.users.update(user.id, { role: 'admin' }, 1);
    expect((await register(payload, cookie)).statusCode).toBe(201);
    const form = await app.inject({
      method: 'POST',
      url: '/admin/api/clients',
      headers: { ...cookie, 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'client_name=x',
    });
    expect(form.statusCode).toBe(415);
    expect(form.json().error).toBe('invalid_request');
  });

  it('lists, reads, updates, rotates the secret of, and deletes a client', async () => {
    const created = (
      await register({ client_name: 'Life', redirect_uris: ['https://a.example/cb'] })
    ).json();
    const id = created.client_id;
    const list = (await app.inject({ url: '/admin/api/clients', headers: KEY })).json();
    expect(list.clients.map((c: { client_id: string }) => c.client_id)).toContain(id);

    const patched = await app.inject({
      method: 'PATCH',
      url: `/admin/api/clients/${id}`,
      headers: KEY,
      payload: { client_name: 'Renamed', scope: 'openid' },
    });
    expect(patched.statusCode).toBe(200);
    expect(patched.json()).toMatchObject({
      client_name: 'Renamed',
      scope: 'openid',
      redirect_uris: ['https://a.example/cb'],
    });

    const rotated = await app.inject({
      method: 'POST',
      url: `/admin/api/clients/${id}/secret`,
      headers: KEY,
    });
    expect(rotated.statusCode).toBe(200);
    const stored = await app.tessera.store.clients.findById(id);
    expect(secretMatches(stored!, created.client_secret)).toBe(false);
    expect(secretMatches(stored!, rotated.json().client_secret)).toBe(true);

    const deleted = await app.inject({
      method: 'DELETE',
      url: `/admin/api/clients/${id}`,
      headers: KEY,
    });
    expect(deleted.statusCode).toBe(204);
    expect(await app.tessera.store.clients.findById(id)).toBeUndefined();
    expect((await app.inject({ url: `/admin/api/clients/${id}`, headers: KEY })).statusCode).toBe(
      404,
    );
  });

  it('makes a client public over PATCH (secret dropped) and confidential again (new secret, once)', async () => {
    const created = (
      await register({ client_name: 'Switch', redirect_uris: ['https://a.example/cb'] })
    ).json();
    const id = created.client_id;
    const patch = (payload: object) =>
      app.inject({ method: 'PATCH', url: `/admin/api/clients/${id}`, headers: KEY, payload });

    const plain = await patch({ client_name: 'Switched' });
    expect(plain.json().client_secret).toBeUndefined();

    const pub = await patch({ token_endpoint_auth_method: 'none' });
    expect(pub.statusCode).toBe(200);
    expect(pub.json()).toMatchObject({ client_type: 'public', token_endpoint_auth_method: 'none' });
    expect(pub.json().client_secret).toBeUndefined();
    expect((await app.tessera.store.clients.findById(id))?.secretHash).toBeNull();

    const conf = await patch({ client_type: 'confidential' });
    expect(conf.statusCode).toBe(200);
    expect(conf.json().token_endpoint_auth_method).toBe('client_secret_basic');
    const secret = conf.json().client_secret;
    expect(secret.length).toBeGreaterThanOrEqual(43);
    expect(secretMatches((await app.tessera.store.clients.findById(id))!, secret)).toBe(true);
    expect(
      secretMatches((await app.tessera.store.clients.findById(id))!, created.client_secret),
    ).toBe(false);
    const read = await app.inject({ url: `/admin/api/clients/${id}`, headers: KEY });
    expect(read.body).not.toContain(secret);
  });

  it('refuses a PATCH that breaks a rule and leaves the client as it was', async () => {
    const created = (
      await register({ client_name: 'Kept', redirect_uris: ['https://a.example/cb'] })
    ).json();
    const before = await snapshot();
    for (const [payload, field] of [
      [{ redirect_uris: [] }, 'redirect_uris'],
      [{ token_endpoint_auth_method: 'none', grant_types: ['client_credentials'] }, 'grant_types'],
      [
        { client_type: 'public', token_endpoint_auth_method: 'client_secret_post' },
        'token_endpoint_auth_method',
      ],
      [{ scope: 'x'.repeat(4001) }, 'scope'],
      [{ contacts: [{ address: 'a@b.example' }] }, 'contacts'],
    ] as const) {
      const res = await app.inject({
        method: 'PATCH',
        url: `/admin/api/clients/${created.client_id}`,
        headers: KEY,
        payload,
      });
      expect(res.statusCode).toBe(400);
      expect(res.json().error).toBe('invalid_request');
      expect(res.json().field).toContain(field);
    }
    expect(await snapshot()).toBe(before);
  });

  it('answers 404 not_found for an unknown client on every route', async () => {
    for (const [method, url] of [
      ['GET', '/admin/api/clients/nope'],
      ['POST', '/admin/api/clients/nope/secret'],
      ['DELETE', '/admin/api/clients/nope'],
    ] as const) {
      const res = await app.inject({ method, url, headers: KEY });
      expect(res.statusCode).toBe(404);
      expect(res.json().error).toBe('not_found');
    }
  });

  it('reloads the client cache (seed 003)', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/admin/api/clients/reload',
      headers: KEY,
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().clients_loaded).toBe((await app.tessera.store.clients.list()).length);
  });

  describe('bad input: 4xx naming the problem, never 500, nothing stored', () => {
    const cases: [
      string,
      () => Promise<{
        statusCode: number;
        json(): { error: string; error_description: string; field?: string };
      }>,
      number,
      RegExp,
    ][] = [
      [
        'malformed JSON',
        () =>
          app.inject({
            method: 'POST',
            url: '/admin/api/clients',
            headers: { ...KEY, 'content-type': 'application/json' },
            payload: '{"client_name": ',
          }),
        400,
        /JSON/,
      ],
      [
        'a wrong content type',
        () =>
          app.inject({
            method: 'POST',
            url: '/admin/api/clients',
            headers: { ...KEY, 'content-type': 'text/plain' },
            payload: 'hello',
          }),
        415,
        /content type/,
      ],
      [
        'a body over 64 KiB',
        () =>
          register({
            client_name: 'x',
            redirect_uris: ['https://a.example/cb'],
            pad: 'x'.repeat(70_000),
          }),
        413,
        /64 KiB/,
      ],
      [
        'a missing name',
        () => register({ redirect_uris: ['https://a.example/cb'] }),
        400,
        /client_name/,
      ],
      [
        'a missing redirect URI for the code grant',
        () => register({ client_name: 'x' }),
        400,
        /redirect_uris/,
      ],
      [
        'an http redirect URI',
        () => register({ client_name: 'x', redirect_uris: ['http://a.example/cb'] }),
        400,
        /https/,
      ],
      [
        'a fragment in a redirect URI',
        () => register({ client_name: 'x', redirect_uris: ['https://a.example/cb#x'] }),
        400,
        /fragment/,
      ],
      [
        'an over-long name',
        () => register({ client_name: 'x'.repeat(101), redirect_uris: ['https://a.example/cb'] }),
        400,
        /client_name/,
      ],
      [
        'an over-long redirect URI',
        () =>
          register({ client_name: 'x', redirect_uris: [`https://a.example/${'a'.repeat(2100)}`] }),
        400,
        /redirect_uris/,
      ],
      [
        'an unknown grant type',
        () =>
          register({
            client_name: 'x',
            redirect_uris: ['https://a.example/cb'],
            grant_types: ['password'],
          }),
        400,
        /grant_types/,
      ],
      [
        'a public client with client_credentials',
        () =>
          register({
            client_name: 'x',
            token_endpoint_auth_method: 'none',
            grant_types: ['client_credentials'],
          }),
        400,
        /public/,
      ],
      [
        'a bad scope token',
        () =>
          register({
            client_name: 'x',
            redirect_uris: ['https://a.example/cb'],
            scope: 'openid bad"scope',
          }),
        400,
        /scope/,
      ],
      [
        'a wrongly typed field',
        () => register({ client_name: 'x', redirect_uris: { uri: 'https://a.example/cb' } }),
        400,
        /redirect_uris/,
      ],
      ...['99999999999999999999', '1e308', '-1', '1.5'].map(
        (value) =>
          [
            `default_max_age ${value}`,
            () =>
              app.inject({
                method: 'POST',
                url: '/admin/api/clients',
                headers: { ...KEY, 'content-type': 'application/json' },
                payload: `{"client_name":"x","redirect_uris":["https://a.example/cb"],"default_max_age":${value}}`,
              }),
            400,
            /default_max_age/,
          ] as [string, () => Promise<LightMyRequestResponse>, number, RegExp],
      ),
      [
        'an unknown client id',
        () =>
          app.inject({
            method: 'PATCH',
            url: '/admin/api/clients/nope',
            headers: KEY,
            payload: { client_name: 'y' },
          }),
        404,
        /client/,
      ],
    ];
    it.each(cases)('%s', async (_label, send, status, message) => {
      const before = await snapshot();
      const res = await send();
      expect(res.statusCode).toBe(status);
      expect(res.json().error_description).toMatch(message);
      expect(await snapshot()).toBe(before);
    });
  });
});

describe('admin API without a configured key', () => {
  it('lets no X-Admin-Key in, not even an empty one', async () => {
    const app = await testApp({ env: { TESSERA_ADMIN_KEY: '' } });
    try {
      for (const headers of [{}, { 'x-admin-key': '' }, { 'x-admin-key': TEST_ADMIN_KEY }]) {
        const res = await app.inject({ url: '/admin/api/clients', headers });
        expect(res.statusCode).toBe(401);
      }
    } finally {
      await app.close();
    }
  });
});
