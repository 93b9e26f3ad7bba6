import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH } from '../../src/http/input.js';
import { testApp } from '../helpers/app.js';
import { TEST_ADMIN_KEY } from '../helpers/config.js';
import { csrfPair, type Identity, signedInIdentity } from '../helpers/identity.js';
import { basicAuth, makeClient, REDIRECT_URI, type TestClient } from '../helpers/oauth.js';
import { storeFactories, type TestStore } from '../helpers/stores.js';

/*
 * Control characters, DEL and unpaired surrogates are refused at the input
 * layer, for every route: a 400 invalid_request naming the parameter, never a
 * 500 (PostgreSQL refuses U+0000 in text) and never stored (SQLite took it).
 */

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const JSON_TYPE = { 'content-type': 'application/json' };
const ADMIN = { 'x-admin-key': TEST_ADMIN_KEY };
const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();

function expectRefusedJson(res: LightMyRequestResponse, name: string, code = 'U+0000'): void {
  expect(res.statusCode, res.body).toBe(400);
  expect(res.headers['content-type']).toContain('application/json');
  const body = res.json();
  expect(body.error).toBe('invalid_request');
  expect(body.error_description).toContain(`"${name}"`);
  expect(body.error_description).toContain(code);
  expect(body.field).toBe(name);
}

function expectRefusedPage(res: LightMyRequestResponse, name: string): void {
  expect(res.statusCode, res.body).toBe(400);
  expect(res.headers['content-type']).toContain('text/html');
  expect(res.headers.location).toBeUndefined();
  expect(res.body).toContain(`&quot;${name}&quot;`);
  expect(res.body).toContain('U+0000');
}

for (const factory of storeFactories()) {
  describe(`control characters in input (${factory.name})`, () => {
    let app: FastifyInstance;
    let ts: TestStore;
    let tc: TestClient;
    let me: Identity;
    const inject = (options: InjectOptions) => app.inject(options);
    const userCount = () => app.tessera.store.users.count();

    beforeAll(async () => {
      ts = await factory.open();
      app = await testApp({ store: ts.store });
      tc = await makeClient(app.tessera);
      me = await signedInIdentity(app);
    });
    afterAll(async () => {
      await app.close();
      await ts.cleanup();
    });

    it('refuses a NUL in client_id in the token request body', async () => {
      const res = await inject({
        method: 'POST',
        url: '/token',
        headers: FORM,
        payload: form({ grant_type: 'client_credentials', client_id: 'a\0b', client_secret: 'x' }),
      });
      expectRefusedJson(res, 'client_id');
    });

    it('refuses a NUL in the client id or the secret of Basic credentials', async () => {
      for (const [id, secret] of [
        ['a\0b', 'secret'],
        [tc.client.id, `${tc.secret}\0`],
      ] as const) {
        const res = await inject({
          method: 'POST',
          url: '/token',
          headers: { ...FORM, authorization: basicAuth(id, secret) },
          payload: form({ grant_type: 'client_credentials' }),
        });
        expect(res.statusCode, res.body).toBe(400);
        expect(res.json()).toMatchObject({ error: 'invalid_request' });
        expect(res.json().error_description).toMatch(/Basic credentials.*U\+0000/);
      }
    });

    it('refuses a control character in a JSON token request, naming the field', async () => {
      const res = await inject({
        method: 'POST',
        url: '/token',
        headers: JSON_TYPE,
        payload: JSON.stringify({ grant_type: 'refresh_token', refresh_token: 'abc\u001fdef' }),
      });
      expectRefusedJson(res, 'refresh_token', 'U+001F');
    });

    it('refuses a NUL in client_id at /authorize and /logout with the error page, never a redirect', async () => {
      for (const url of [
        `/authorize?response_type=code&client_id=a%00b&redirect_uri=${encodeURIComponent(REDIRECT_URI)}`,
        '/logout?client_id=a%00b',
      ]) {
        expectRefusedPage(await inject({ method: 'GET', url }), 'client_id');
      }
      const posted = await inject({
        method: 'POST',
        url: '/authorize',
        headers: FORM,
        payload: form({ client_id: tc.client.id, response_type: 'code', state: 's\0' }),
      });
      expectRefusedPage(posted, 'state');
    });

    it('refuses a NUL in the username at sign-in and starts no session', async () => {
      const { cookie, csrf } = csrfPair();
      const res = await inject({
        method: 'POST',
        url: '/login',
        headers: { ...FORM, cookie },
        payload: form({ ...csrf, username: `${me.user.username}\0`, password: 'whatever' }),
      });
      expectRefusedPage(res, 'username');
      expect(res.headers['set-cookie'] ?? '').not.toContain('tessera_session');
    });

    it('refuses a NUL in the e-mail at registration, by the API and the sign-up page, and stores nobody', async () => {
      const before = await userCount();
      const api = await inject({
        method: 'POST',
        url: '/api/users',
        headers: JSON_TYPE,
        payload: JSON.stringify({
          username: 'nul_api',
          email: 'nul\u0000@example.com',
          password: 'correct horse battery',
        }),
      });
      expectRefusedJson(api, 'email');
      const { cookie, csrf } = csrfPair();
      const page = await inject({
        method: 'POST',
        url: '/signup',
        headers: { ...FORM, cookie },
        payload: form({
          ...csrf,
          username: 'nul_page',
          email: 'nul\0@example.com',
          password: 'correct horse battery',
        }),
      });
      expectRefusedPage(page, 'email');
      expect(await userCount()).toBe(before);
      expect(await app.tessera.store.users.findByLogin('nul_api')).toBeUndefined();
      expect(await app.tessera.store.users.findByLogin('nul_page')).toBeUndefined();
    });

    it('refuses a NUL in the admin search and in admin ids', async () => {
      expectRefusedJson(
        await inject({ method: 'GET', url: '/admin/api/users?q=a%00', headers: ADMIN }),
        'q',
      );
      for (const url of ['/admin/api/users/a%00b', '/admin/api/clients/a%00b']) {
        expectRefusedJson(await inject({ method: 'GET', url, headers: ADMIN }), 'id');
      }
      const patch = await inject({
        method: 'PATCH',
        url: `/admin/api/users/${me.user.id}/role`,
        headers: { ...ADMIN, ...JSON_TYPE },
        payload: JSON.stringify({ role: 'admin\u0000' }),
      });
      expectRefusedJson(patch, 'role');
      expect((await app.tessera.store.users.findById(me.user.id))?.role).toBe('user');
    });

    it('refuses a NUL in the ids of the account forms and leaves the session and grant alone', async () => {
      for (const [url, field] of [
        ['/account/sessions/end', 'session_id'],
        ['/account/apps/revoke', 'grant_id'],
      ] as const) {
        const res = await inject({
          method: 'POST',
          url,
          headers: { ...FORM, cookie: me.cookie },
          payload: form({ ...me.csrf, [field]: `${me.sessionId}\0` }),
        });
        expectRefusedPage(res, field);
      }
      const account = await inject({
        method: 'GET',
        url: '/account',
        headers: { cookie: me.cookie },
      });
      expect(account.statusCode).toBe(200);
    });

    it('refuses DEL, the other C0 controls and unpaired surrogates', async () => {
      for (const [value, code] of [
        ['a\u007f', 'U+007F'],
        ['a\u0001', 'U+0001'],
        ['a\u001b[31m', 'U+001B'],
        ['a\ud800', 'U+D800'],
        ['\udfffa', 'U+DFFF'],
      ] as const) {
        const res = await inject({
          method: 'POST',
          url: '/api/users',
          headers: JSON_TYPE,
          payload: JSON.stringify({ username: value, email: 'x@example.com', password: 'x' }),
        });
        expectRefusedJson(res, 'username', code);
      }
    });

    it('accepts a well-formed surrogate pair (an emoji) as text', async () => {
      const res = await inject({
        method: 'POST',
        url: '/api/users',
        headers: JSON_TYPE,
        payload: JSON.stringify({
          username: `emoji_${factory.name}`,
          email: `emoji_${factory.name}@example.com`,
          password: 'correct horse battery',
          given_name: 'Ada 😀',
        }),
      });
      expect(res.statusCode, res.body).toBe(201);
      expect(res.json().given_name).toBe('Ada 😀');
    });

    it('refuses a control character in a parameter name, in the query or a nested JSON body', async () => {
      const query = await inject({ method: 'GET', url: '/authorize?client%00id=x' });
      expect(query.statusCode).toBe(400);
      expect(query.body).toContain('query parameter name holds the control character U+0000');
      const nested = await inject({
        method: 'POST',
        url: '/admin/api/clients',
        headers: { ...ADMIN, ...JSON_TYPE },
        payload: JSON.stringify({
          client_name: 'x',
          redirect_uris: ['https://a.example/cb', 'https://a.example/cb\u0000'],
        }),
      });
      expectRefusedJson(nested, 'redirect_uris[1]');
      const deep = await inject({
        method: 'POST',
        url: '/admin/api/clients',
        headers: { ...ADMIN, ...JSON_TYPE },
        payload: JSON.stringify({ extra: { 'a\u0007': 1 } }),
      });
      expect(deep.statusCode).toBe(400);
      expect(deep.json().error_description).toContain('U+0007');
    });

    it(`refuses JSON nested more than ${MAX_JSON_DEPTH} levels deep, and accepts it up to that`, async () => {
      const nest = (levels: number): unknown => (levels === 0 ? 'x' : { a: nest(levels - 1) });
      const tooDeep = await inject({
        method: 'POST',
        url: '/token',
        headers: JSON_TYPE,
        payload: JSON.stringify({ grant_type: 'x', extra: nest(MAX_JSON_DEPTH + 1) }),
      });
      expect(tooDeep.statusCode).toBe(400);
      expect(tooDeep.json().error_description).toContain(`more than ${MAX_JSON_DEPTH} levels deep`);
      // 10,000 levels: refused by the bounded walk, not a stack overflow.
      const absurd = await inject({
        method: 'POST',
        url: '/token',
        headers: JSON_TYPE,
        payload: `{"a":${'['.repeat(10_000)}${']'.repeat(10_000)}}`,
      });
      expect(absurd.statusCode).toBe(400);
      const fine = await inject({
        method: 'POST',
        url: '/token',
        headers: JSON_TYPE,
        payload: JSON.stringify({ grant_type: 'x', extra: nest(MAX_JSON_DEPTH) }),
      });
      // Past the input check: refused for what it is, a request without a client.
      expect(fine.json().error).toBe('invalid_client');
    });

    it('lets TAB, LF and CR through in values: a pretty-printed claims parameter reaches the protocol', async () => {
      const claims = JSON.stringify({ id_token: { email: null } }, null, '\t').replace(
        /\n/g,
        '\r\n',
      );
      expect(claims).toMatch(/\r\n\t/);
      const url = `/authorize?${new URLSearchParams({
        response_type: 'code',
        client_id: tc.client.id,
        redirect_uri: REDIRECT_URI,
        scope: 'openid',
        code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
        code_challenge_method: 'S256',
        prompt: 'none',
        claims,
        state: 'xyz',
      })}`;
      const res = await inject({ method: 'GET', url });
      expect(res.statusCode, res.body).toBe(302);
      const back = new URL(res.headers.location as string);
      expect(back.searchParams.get('error')).toBe('login_required');
      expect(back.searchParams.get('state')).toBe('xyz');
    });

    it('refuses a TAB or LF in a path parameter (an id is one token)', async () => {
      for (const url of ['/admin/api/users/a%09b', '/admin/api/users/a%0Ab']) {
        const res = await inject({ method: 'GET', url, headers: ADMIN });
        expect(res.statusCode).toBe(400);
        expect(res.json().field).toBe('id');
      }
    });

    it("answers the router's own URL errors in our shape, without echoing the path", async () => {
      const long = await inject({
        method: 'GET',
        url: `/admin/api/users/${'x'.repeat(600)}`,
        headers: ADMIN,
      });
      expect(long.statusCode).toBe(414);
      expect(long.json()).toEqual({
        error: 'invalid_request',
        error_description: 'a segment of the URL path is too long',
      });
      const bad = await inject({ method: 'GET', url: '/admin/api/users/%E0%A4%A', headers: ADMIN });
      expect(bad.statusCode).toBe(400);
      expect(bad.json().error).toBe('invalid_request');
      expect(bad.body).not.toContain('%E0');
    });

    it('checks unknown paths too: a 400 rather than a 404 for a control character', async () => {
      const res = await inject({ method: 'GET', url: '/nowhere?x=%00' });
      expect(res.statusCode).toBe(400);
      expect(res.json().field).toBe('x');
    });
  });
}
