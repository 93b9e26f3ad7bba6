import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nowSeconds } from '../../src/context.js';
import { testApp } from '../helpers/app.js';
import {
  assertionClaims,
  CLIENT_ASSERTION_TYPE,
  makeKeyedClient,
  signWith,
} from '../helpers/client-jwt.js';
import { TEST_ADMIN_KEY } from '../helpers/config.js';
import { basicAuth, makeClient, makeUser } from '../helpers/oauth.js';

const ISSUER = 'https://id.example.com/tenant-a';
const PATH = '/tenant-a';

/** Every kind of route: protocol endpoints, pages, the account API, the admin API, assets, discovery. */
const ROUTES: [method: 'GET' | 'POST', path: string][] = [
  ['GET', '/'],
  ['GET', '/login'],
  ['POST', '/login'],
  ['GET', '/signup'],
  ['GET', '/account'],
  ['POST', '/account/edit'],
  ['GET', '/device'],
  ['POST', '/device/confirm'],
  ['GET', '/logout'],
  ['GET', '/authorize'],
  ['POST', '/consent'],
  ['POST', '/select-account'],
  ['POST', '/token'],
  ['POST', '/par'],
  ['GET', '/userinfo'],
  ['POST', '/revoke'],
  ['POST', '/introspect'],
  ['POST', '/device_authorization'],
  ['GET', '/jwks'],
  ['POST', '/api/users'],
  ['GET', '/admin/api/clients'],
  ['GET', '/admin/api/apis'],
  ['GET', '/assets/tessera.css'],
  ['GET', '/assets/passkeys.js'],
  ['GET', '/.well-known/openid-configuration'],
  ['GET', '/.well-known/oauth-authorization-server'],
];

/** Every link, form action and stylesheet a page names. */
const urlsOf = (html: string) =>
  [...html.matchAll(/(?:href|src|action)="([^"]*)"/g)].map((m) => m[1]!.replace(/&#x2F;/g, '/'));

describe(`an issuer with a path (${ISSUER})`, () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await testApp({ env: { TESSERA_ISSUER: ISSUER } });
  });
  afterAll(async () => app.close());

  const call = (method: 'GET' | 'POST', url: string, headers: Record<string, string> = {}) =>
    app.inject({
      method,
      url,
      headers: { 'x-admin-key': TEST_ADMIN_KEY, ...headers },
      ...(method === 'POST'
        ? { payload: '', headers: { 'content-type': 'application/x-www-form-urlencoded' } }
        : {}),
    });

  it.each(ROUTES)('serves %s %s under the path, and not at the root', async (method, path) => {
    const under = await call(method, `${PATH}${path}`);
    expect(under.statusCode, under.body.slice(0, 200)).not.toBe(404);
    const root = await call(method, path);
    expect(root.statusCode).toBe(404);
    expect(root.json()).toMatchObject({ error: 'not_found' });
  });

  it('answers the probes at the root, and under the path too', async () => {
    for (const path of ['/healthz', '/readyz', `${PATH}/healthz`, `${PATH}/readyz`]) {
      expect((await call('GET', path)).statusCode, path).toBe(200);
    }
  });

  it('serves one metadata document at every form clients try, and no other', async () => {
    const forms = [
      `${PATH}/.well-known/openid-configuration`,
      `${PATH}/.well-known/oauth-authorization-server`,
      `/.well-known/oauth-authorization-server${PATH}`,
      `/.well-known/openid-configuration${PATH}`,
    ];
    const bodies = new Set<string>();
    for (const form of forms) {
      const res = await call('GET', form);
      expect(res.statusCode, form).toBe(200);
      bodies.add(res.body);
    }
    expect(bodies.size).toBe(1);
    expect(JSON.parse([...bodies][0]!).issuer).toBe(ISSUER);
    for (const other of [
      '/.well-known/oauth-authorization-server/tenant-b',
      '/.well-known/openid-configuration/tenant-a/x',
      '/tenant-b/.well-known/openid-configuration',
    ]) {
      expect((await call('GET', other)).statusCode, other).toBe(404);
    }
  });

  it('lets browser apps read the metadata at the path-inserted forms and call the token endpoint (CORS)', async () => {
    for (const path of [`/.well-known/oauth-authorization-server${PATH}`, `${PATH}/token`]) {
      const preflight = await app.inject({
        method: 'OPTIONS',
        url: path,
        headers: { origin: 'https://app.example', 'access-control-request-method': 'POST' },
      });
      expect(preflight.statusCode, path).toBe(204);
      expect(preflight.headers['access-control-allow-origin']).toBe('*');
    }
    const get = await call('GET', `/.well-known/openid-configuration${PATH}`, {
      origin: 'https://app.example',
    });
    expect(get.headers['access-control-allow-origin']).toBe('*');
  });

  it('takes the path with or without a trailing slash, and no path that merely starts like it', async () => {
    for (const path of [PATH, `${PATH}/`]) {
      const home = await call('GET', path);
      expect(home.statusCode, path).toBe(303);
      expect(home.headers.location).toBe(`${PATH}/login`);
    }
    expect((await call('GET', `${PATH}/login/`)).statusCode).toBe(200);
    for (const path of ['/tenant-ab', '/tenant-ab/login', '/TENANT-A/login']) {
      expect((await call('GET', path)).statusCode, path).toBe(404);
    }
  });

  it('redirects only to pages under the path, and keeps return_to a path under it', async () => {
    const account = await call('GET', `${PATH}/account`);
    expect(account.headers.location).toBe(`${PATH}/login?return_to=/account`);
  });

  it('names only URLs under the path in its pages, error pages included', async () => {
    for (const path of [`${PATH}/login`, `${PATH}/signup`, `${PATH}/device`, `${PATH}/nowhere`]) {
      const res = await call('GET', path, { accept: 'text/html' });
      expect(res.headers['content-type'], path).toMatch(/^text\/html/);
      const urls = urlsOf(res.body).filter((url) => url !== '');
      expect(urls.length, path).toBeGreaterThan(0);
      for (const url of urls) expect(url, path).toMatch(/^\/tenant-a\//);
    }
    const css = await call('GET', `${PATH}/assets/tessera.css`);
    expect(css.headers['content-type']).toMatch(/^text\/css/);
  });

  it('sets its cookies with the Path of the issuer', async () => {
    const res = await call('GET', `${PATH}/login`);
    const cookies = [res.headers['set-cookie'] ?? []].flat();
    expect(cookies.length).toBeGreaterThan(0);
    for (const cookie of cookies) expect(cookie).toMatch(/; Path=\/tenant-a(;|$)/);
  });

  it('signs in at the form under the path: the session cookie lives there, and return_to cannot leave it', async () => {
    const { user, password } = await makeUser(app.tessera);
    const form = await call('GET', `${PATH}/login`);
    const csrf = form.cookies.find((c) => c.name === 'tessera_csrf')!;
    const token = /name="_csrf" value="([^"]+)"/.exec(form.body)![1]!;
    const done = await app.inject({
      method: 'POST',
      url: `${PATH}/login`,
      cookies: { tessera_csrf: csrf.value },
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({
        _csrf: token,
        username: user.username,
        password,
        return_to: '/../elsewhere',
      }).toString(),
    });
    expect(done.statusCode, done.body.slice(0, 200)).toBe(303);
    expect(done.headers.location).toBe(`${PATH}/account`);
    const session = done.cookies.find((c) => c.name === 'tessera_session');
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: PATH });
  });

  it('accepts a client assertion whose audience is the endpoint receiving it, path included', async () => {
    const ctx = app.tessera;
    const keyed = await makeKeyedClient(ctx);
    const assertion = await signWith(
      keyed.key,
      assertionClaims(keyed.client.id, ISSUER, nowSeconds(ctx), { aud: `${ISSUER}/introspect` }),
    );
    const res = await app.inject({
      method: 'POST',
      url: `${PATH}/introspect`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({
        token: 'unknown',
        client_id: keyed.client.id,
        client_assertion_type: CLIENT_ASSERTION_TYPE,
        client_assertion: assertion,
      }).toString(),
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({ active: false });
  });
});

describe('the limits on failed client requests, under a path', () => {
  it('count failures at the token endpoint under the path and block past the limit', async () => {
    const app = await testApp({
      env: {
        TESSERA_ISSUER: ISSUER,
        TESSERA_CLIENT_IP_MAX_FAILURES: '2',
        TESSERA_CLIENT_FAILURE_WINDOW_SECONDS: '60',
        TESSERA_CLIENT_BLOCK_SECONDS: '300',
      },
    });
    try {
      const tc = await makeClient(app.tessera, { grantTypes: ['client_credentials'], scopes: [] });
      const wrong = () =>
        app.inject({
          method: 'POST',
          url: `${PATH}/token`,
          remoteAddress: '203.0.113.9',
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            authorization: basicAuth(tc.client.id, 'wrong secret'),
          },
          payload: 'grant_type=client_credentials',
        });
      expect((await wrong()).statusCode).toBe(401);
      expect((await wrong()).statusCode).toBe(401);
      expect((await wrong()).statusCode).toBe(429);
    } finally {
      await app.close();
    }
  });
});

describe('dynamic client registration under a path', () => {
  it('registers at the path, and hands out a registration_client_uri that works there', async () => {
    const app = await testApp({ env: { TESSERA_ISSUER: ISSUER, TESSERA_REGISTRATION: 'open' } });
    try {
      const meta = await app.inject({
        method: 'GET',
        url: `/.well-known/oauth-authorization-server${PATH}`,
      });
      expect(meta.json().registration_endpoint).toBe(`${ISSUER}/register`);
      const body = {
        redirect_uris: ['https://app.example.com/cb'],
        token_endpoint_auth_method: 'none',
      };
      expect(
        (await app.inject({ method: 'POST', url: '/register', payload: body })).statusCode,
      ).toBe(404);
      const made = await app.inject({ method: 'POST', url: `${PATH}/register`, payload: body });
      expect(made.statusCode, made.body).toBe(201);
      const {
        client_id: id,
        registration_client_uri: uri,
        registration_access_token: token,
      } = made.json();
      expect(uri).toBe(`${ISSUER}/register/${id}`);
      const read = await app.inject({
        method: 'GET',
        url: new URL(uri).pathname,
        headers: { authorization: `Bearer ${token}` },
      });
      expect(read.statusCode, read.body).toBe(200);
      expect(read.json().client_id).toBe(id);
    } finally {
      await app.close();
    }
  });
});
