import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { FrozenClock } from '../../src/lib/clock.js';
import type { Client } from '../../src/store/types.js';
import { type RunningServer, startServer } from '../helpers/app.js';
import { Browser } from '../helpers/browser.js';
import {
  basicAuth,
  expectOAuthError,
  introspect,
  makeClient,
  makeUser,
  obtainCode,
  pkce,
  postAsClient,
  postForm,
  postJson,
  postRaw,
  REDIRECT_URI,
  refresh,
  signInBrowser,
  type TestClient,
  userinfo,
} from '../helpers/oauth.js';

describe('/token with grant_type=authorization_code (RFC 6749 §4.1.3, RFC 7636)', () => {
  let server: RunningServer;
  let ctx: AppContext;
  const clock = new FrozenClock();
  beforeAll(async () => {
    server = await startServer({ clock });
    ctx = server.app.tessera;
  });
  afterAll(async () => server.close());

  /** A fresh person, signed in, and a code for `client` (with PKCE unless `pkce: false`). */
  async function codeFor(
    client: Client,
    options: { pkce?: boolean; extra?: Record<string, string | undefined> } = {},
  ) {
    const { user } = await makeUser(ctx);
    const browser = new Browser(server.url);
    await signInBrowser(ctx, browser, user);
    const { verifier, challenge } = pkce();
    const usePkce = options.pkce !== false;
    const code = await obtainCode(browser, client, {
      ...(usePkce ? { code_challenge: challenge, code_challenge_method: 'S256' } : {}),
      ...options.extra,
    });
    return { code, verifier, user, browser };
  }

  const exchange = (tc: TestClient, form: Record<string, string | undefined>) =>
    postAsClient(server.url, '/token', tc, {
      grant_type: 'authorization_code',
      redirect_uri: REDIRECT_URI,
      ...form,
    });

  describe('successful exchanges', () => {
    it('client_secret_basic: a Bearer token with expires_in, scope, refresh and ID tokens, not cached', async () => {
      const tc = await makeClient(ctx);
      const { code, verifier, user } = await codeFor(tc.client);
      const res = await exchange(tc, { code, code_verifier: verifier });
      expect(res.status, res.text).toBe(200);
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(res.headers.get('pragma')).toBe('no-cache');
      expect(res.headers.get('content-type')).toContain('application/json');
      expect(res.body).toMatchObject({
        token_type: 'Bearer',
        expires_in: 3600,
        scope: 'openid profile email',
      });
      expect(typeof res.body.access_token).toBe('string');
      expect(typeof res.body.refresh_token).toBe('string');
      expect(typeof res.body.id_token).toBe('string');
      const info = await userinfo(server.url, String(res.body.access_token));
      expect(info.body.sub).toBe(user.id);
    });

    it('client_secret_post: the secret in the form body', async () => {
      const tc = await makeClient(ctx, { tokenEndpointAuthMethod: 'client_secret_post' });
      const { code, verifier } = await codeFor(tc.client);
      const res = await postForm(server.url, '/token', {
        grant_type: 'authorization_code',
        code,
        redirect_uri: REDIRECT_URI,
        code_verifier: verifier,
        client_id: tc.client.id,
        client_secret: tc.secret,
      });
      expect(res.status, res.text).toBe(200);
      expect(res.body.token_type).toBe('Bearer');
      expect(res.headers.get('cache-control')).toBe('no-store');
    });

    it('none: a public client sends only its client_id and the PKCE verifier', async () => {
      const tc = await makeClient(ctx, { type: 'public' });
      const { code, verifier } = await codeFor(tc.client);
      const res = await postForm(server.url, '/token', {
        grant_type: 'authorization_code',
        code,
        redirect_uri: REDIRECT_URI,
        code_verifier: verifier,
        client_id: tc.client.id,
      });
      expect(res.status, res.text).toBe(200);
      expect(res.body.token_type).toBe('Bearer');
      expect(typeof res.body.refresh_token).toBe('string');
      expect(typeof res.body.id_token).toBe('string');
    });

    it('accepts the JSON body of seed 001 (client_id and client_secret in it)', async () => {
      const tc = await makeClient(ctx, { tokenEndpointAuthMethod: 'client_secret_post' });
      const { code } = await codeFor(tc.client, { pkce: false });
      const res = await postJson(server.url, '/token', {
        grant_type: 'authorization_code',
        code,
        redirect_uri: REDIRECT_URI,
        client_id: tc.client.id,
        client_secret: tc.secret,
      });
      expect(res.status, res.text).toBe(200);
      expect(res.body.token_type).toBe('Bearer');
      expect(res.headers.get('cache-control')).toBe('no-store');
    });

    it('accepts a form content type with a charset parameter', async () => {
      const tc = await makeClient(ctx);
      const { code, verifier } = await codeFor(tc.client);
      const body = new URLSearchParams({
        grant_type: 'authorization_code',
        code,
        redirect_uri: REDIRECT_URI,
        code_verifier: verifier,
      }).toString();
      const res = await postRaw(
        server.url,
        '/token',
        body,
        'application/x-www-form-urlencoded; charset=UTF-8',
        { authorization: basicAuth(tc.client.id, tc.secret!) },
      );
      expect(res.status, res.text).toBe(200);
    });

    it('gives no refresh token to a client not allowed the refresh_token grant', async () => {
      const tc = await makeClient(ctx, { grantTypes: ['authorization_code'] });
      const { code, verifier } = await codeFor(tc.client);
      const res = await exchange(tc, { code, code_verifier: verifier });
      expect(res.status, res.text).toBe(200);
      expect(res.body.refresh_token).toBeUndefined();
      expect(typeof res.body.id_token).toBe('string');
    });

    it('gives no ID token when openid was not in scope', async () => {
      const tc = await makeClient(ctx);
      const { code, verifier } = await codeFor(tc.client, { extra: { scope: 'profile email' } });
      const res = await exchange(tc, { code, code_verifier: verifier });
      expect(res.status, res.text).toBe(200);
      expect(res.body.scope).toBe('profile email');
      expect(res.body.id_token).toBeUndefined();
      expect(typeof res.body.refresh_token).toBe('string');
    });

    it('redirect_uri omitted at /authorize (one registered URI) may be omitted at /token', async () => {
      const tc = await makeClient(ctx);
      const { code, verifier } = await codeFor(tc.client, { extra: { redirect_uri: undefined } });
      const res = await postAsClient(server.url, '/token', tc, {
        grant_type: 'authorization_code',
        code,
        code_verifier: verifier,
      });
      expect(res.status, res.text).toBe(200);
      // Sending the one registered URI at /token is fine too.
      const second = await codeFor(tc.client, { extra: { redirect_uri: undefined } });
      const withUri = await exchange(tc, { code: second.code, code_verifier: second.verifier });
      expect(withUri.status, withUri.text).toBe(200);
    });
  });

  describe('the code', () => {
    it('is single use: a second use is invalid_grant and revokes the tokens of the first', async () => {
      const tc = await makeClient(ctx);
      const { code, verifier } = await codeFor(tc.client);
      const first = await exchange(tc, { code, code_verifier: verifier });
      expect(first.status, first.text).toBe(200);
      const accessToken = String(first.body.access_token);
      const refreshToken = String(first.body.refresh_token);
      expect((await introspect(server.url, tc, accessToken)).body.active).toBe(true);

      const second = await exchange(tc, { code, code_verifier: verifier });
      expectOAuthError(second, 400, 'invalid_grant');

      expect((await introspect(server.url, tc, accessToken)).body).toEqual({ active: false });
      expect((await introspect(server.url, tc, refreshToken)).body).toEqual({ active: false });
      expect((await userinfo(server.url, accessToken)).status).toBe(401);
      expectOAuthError(await refresh(server.url, tc, refreshToken), 400, 'invalid_grant');
    });

    it('a replay also revokes tokens refreshed from the first exchange', async () => {
      const tc = await makeClient(ctx);
      const { code, verifier } = await codeFor(tc.client);
      const first = await exchange(tc, { code, code_verifier: verifier });
      const refreshed = await refresh(server.url, tc, String(first.body.refresh_token));
      expect(refreshed.status, refreshed.text).toBe(200);

      expectOAuthError(await exchange(tc, { code, code_verifier: verifier }), 400, 'invalid_grant');
      const newAccess = String(refreshed.body.access_token);
      expect((await introspect(server.url, tc, newAccess)).body).toEqual({ active: false });
      expectOAuthError(
        await refresh(server.url, tc, String(refreshed.body.refresh_token)),
        400,
        'invalid_grant',
      );
    });

    it('is consumed once: of concurrent exchanges exactly one gets tokens', async () => {
      const tc = await makeClient(ctx);
      const { code, verifier } = await codeFor(tc.client);
      const results = await Promise.all(
        [1, 2, 3, 4].map(() => exchange(tc, { code, code_verifier: verifier })),
      );
      expect(results.filter((r) => r.status === 200)).toHaveLength(1);
      for (const r of results.filter((r) => r.status !== 200)) {
        expectOAuthError(r, 400, 'invalid_grant');
      }
    });

    it('is spent by a refused exchange: a wrong code_verifier, then the right one, is invalid_grant', async () => {
      const tc = await makeClient(ctx);
      const { code, verifier } = await codeFor(tc.client);
      const wrong = await exchange(tc, { code, code_verifier: pkce().verifier });
      expectOAuthError(wrong, 400, 'invalid_grant');
      expect(wrong.body.error_description).toContain('code_verifier');
      const right = await exchange(tc, { code, code_verifier: verifier });
      expectOAuthError(right, 400, 'invalid_grant');
      expect(right.body.error_description).toContain('already been used');
    });

    it('expires after 60 seconds: invalid_grant', async () => {
      const tc = await makeClient(ctx);
      const { code, verifier } = await codeFor(tc.client);
      clock.advance(61);
      expectOAuthError(await exchange(tc, { code, code_verifier: verifier }), 400, 'invalid_grant');
    });

    it('still works 59 seconds after it was issued', async () => {
      const tc = await makeClient(ctx);
      const { code, verifier } = await codeFor(tc.client);
      clock.advance(59);
      const res = await exchange(tc, { code, code_verifier: verifier });
      expect(res.status, res.text).toBe(200);
    });

    it('issued to another client is invalid_grant, and stays good for its own client', async () => {
      const owner = await makeClient(ctx);
      const other = await makeClient(ctx);
      const { code, verifier } = await codeFor(owner.client);
      expectOAuthError(
        await exchange(other, { code, code_verifier: verifier }),
        400,
        'invalid_grant',
      );
      // Presented by another client, the code was not spent: its rightful client still redeems it.
      const own = await exchange(owner, { code, code_verifier: verifier });
      expect(own.status, own.text).toBe(200);
      // Once spent, another client still learns only that it is not its code; nothing is revoked.
      const late = await exchange(other, { code, code_verifier: verifier });
      expectOAuthError(late, 400, 'invalid_grant');
      expect(late.body.error_description).toContain('another client');
      expect((await introspect(server.url, owner, String(own.body.access_token))).body.active).toBe(
        true,
      );
    });

    it('that is unknown is invalid_grant', async () => {
      const tc = await makeClient(ctx);
      expectOAuthError(await exchange(tc, { code: 'not-a-code-we-issued' }), 400, 'invalid_grant');
      expectOAuthError(await exchange(tc, { code: 'x'.repeat(4000) }), 400, 'invalid_grant');
    });

    it('missing is invalid_request', async () => {
      const tc = await makeClient(ctx);
      expectOAuthError(await exchange(tc, {}), 400, 'invalid_request');
    });
  });

  describe('redirect_uri', () => {
    it('different from the one of the authorization request is invalid_grant', async () => {
      const tc = await makeClient(ctx, {
        redirectUris: [REDIRECT_URI, 'https://app.example.com/other'],
      });
      const { code, verifier } = await codeFor(tc.client);
      expectOAuthError(
        await exchange(tc, {
          code,
          code_verifier: verifier,
          redirect_uri: 'https://app.example.com/other',
        }),
        400,
        'invalid_grant',
      );
    });

    it('unregistered is invalid_grant', async () => {
      const tc = await makeClient(ctx);
      const { code, verifier } = await codeFor(tc.client);
      expectOAuthError(
        await exchange(tc, {
          code,
          code_verifier: verifier,
          redirect_uri: `${REDIRECT_URI}/extra`,
        }),
        400,
        'invalid_grant',
      );
    });

    it('omitted at /token when the authorization request sent it is invalid_grant', async () => {
      const tc = await makeClient(ctx);
      const { code, verifier } = await codeFor(tc.client);
      expectOAuthError(
        await exchange(tc, { code, code_verifier: verifier, redirect_uri: undefined }),
        400,
        'invalid_grant',
      );
    });
  });

  describe('PKCE', () => {
    it('a missing code_verifier is invalid_grant when a challenge was sent', async () => {
      const tc = await makeClient(ctx);
      const { code } = await codeFor(tc.client);
      expectOAuthError(await exchange(tc, { code }), 400, 'invalid_grant');
    });

    it('a wrong code_verifier is invalid_grant', async () => {
      const tc = await makeClient(ctx);
      const { code } = await codeFor(tc.client);
      expectOAuthError(
        await exchange(tc, { code, code_verifier: pkce().verifier }),
        400,
        'invalid_grant',
      );
    });

    it('a malformed code_verifier is invalid_grant', async () => {
      const tc = await makeClient(ctx);
      const { code } = await codeFor(tc.client);
      expectOAuthError(await exchange(tc, { code, code_verifier: 'short' }), 400, 'invalid_grant');
    });

    it('a code_verifier sent when no challenge was used is invalid_grant (downgrade)', async () => {
      const tc = await makeClient(ctx);
      const { code } = await codeFor(tc.client, { pkce: false });
      expectOAuthError(
        await exchange(tc, { code, code_verifier: pkce().verifier }),
        400,
        'invalid_grant',
      );
    });

    it('a public client without its code_verifier is invalid_grant', async () => {
      const tc = await makeClient(ctx, { type: 'public' });
      const { code } = await codeFor(tc.client);
      expectOAuthError(await exchange(tc, { code }), 400, 'invalid_grant');
    });
  });

  describe('client authentication (RFC 6749 §2.3, §5.2)', () => {
    const basicChallenge = /^Basic realm="[^"]+"$/;

    it('a wrong secret by Basic is 401 invalid_client with a Basic challenge', async () => {
      const tc = await makeClient(ctx);
      const { code, verifier } = await codeFor(tc.client);
      const res = await postForm(
        server.url,
        '/token',
        {
          grant_type: 'authorization_code',
          code,
          redirect_uri: REDIRECT_URI,
          code_verifier: verifier,
        },
        { authorization: basicAuth(tc.client.id, 'wrong-secret') },
      );
      expectOAuthError(res, 401, 'invalid_client');
      expect(res.headers.get('www-authenticate')).toMatch(basicChallenge);
      // The code was not spent by a request that failed to authenticate.
      expect((await exchange(tc, { code, code_verifier: verifier })).status).toBe(200);
    });

    it('an unknown client by Basic is 401 invalid_client with a Basic challenge', async () => {
      const res = await postForm(
        server.url,
        '/token',
        { grant_type: 'authorization_code', code: 'abc', redirect_uri: REDIRECT_URI },
        { authorization: basicAuth('no-such-client', 'secret') },
      );
      expectOAuthError(res, 401, 'invalid_client');
      expect(res.headers.get('www-authenticate')).toMatch(basicChallenge);
    });

    it('a malformed Basic header is 401 invalid_client with a Basic challenge', async () => {
      for (const authorization of ['Basic !!!notbase64', `Basic ${btoa('no-colon')}`, 'Basic ']) {
        const res = await postForm(
          server.url,
          '/token',
          { grant_type: 'authorization_code', code: 'abc' },
          { authorization },
        );
        expectOAuthError(res, 401, 'invalid_client');
        expect(res.headers.get('www-authenticate')).toMatch(basicChallenge);
      }
    });

    it('Basic credentials that are not form-encoded correctly are 401 invalid_client', async () => {
      const res = await postForm(
        server.url,
        '/token',
        { grant_type: 'authorization_code', code: 'abc' },
        { authorization: `Basic ${Buffer.from('client:%zz').toString('base64')}` },
      );
      expectOAuthError(res, 401, 'invalid_client');
      expect(res.headers.get('www-authenticate')).toMatch(basicChallenge);
    });

    it('a wrong secret in the body is 401 invalid_client with the Basic challenge (the scheme /token supports)', async () => {
      const tc = await makeClient(ctx, { tokenEndpointAuthMethod: 'client_secret_post' });
      const res = await postForm(server.url, '/token', {
        grant_type: 'authorization_code',
        code: 'abc',
        redirect_uri: REDIRECT_URI,
        client_id: tc.client.id,
        client_secret: 'wrong-secret',
      });
      expectOAuthError(res, 401, 'invalid_client');
      expect(res.headers.get('www-authenticate')).toMatch(basicChallenge);
    });

    it('an unknown client in the body is 401 invalid_client with the Basic challenge', async () => {
      const res = await postForm(server.url, '/token', {
        grant_type: 'authorization_code',
        code: 'abc',
        client_id: 'no-such-client',
        client_secret: 'secret',
      });
      expectOAuthError(res, 401, 'invalid_client');
      expect(res.headers.get('www-authenticate')).toMatch(basicChallenge);
    });

    it('a wrong secret in a JSON body is 401 invalid_client', async () => {
      const tc = await makeClient(ctx, { tokenEndpointAuthMethod: 'client_secret_post' });
      const res = await postJson(server.url, '/token', {
        grant_type: 'authorization_code',
        code: 'abc',
        client_id: tc.client.id,
        client_secret: 'wrong',
      });
      expectOAuthError(res, 401, 'invalid_client');
    });

    it('a client_secret_basic client sending its right secret in the body is 401, and its code is not spent', async () => {
      // The review's finding: the registered token_endpoint_auth_method was not enforced.
      const tc = await makeClient(ctx);
      const { code, verifier } = await codeFor(tc.client);
      const grant = { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI };
      const inBody = await postForm(server.url, '/token', {
        ...grant,
        code_verifier: verifier,
        client_id: tc.client.id,
        client_secret: tc.secret,
      });
      expectOAuthError(inBody, 401, 'invalid_client');
      expect(inBody.body.error_description).toContain('client_secret_basic');
      const json = await postJson(server.url, '/token', {
        ...grant,
        code_verifier: verifier,
        client_id: tc.client.id,
        client_secret: tc.secret,
      });
      expectOAuthError(json, 401, 'invalid_client');
      const basic = await postAsClient(server.url, '/token', tc, {
        ...grant,
        code_verifier: verifier,
      });
      expect(basic.status, basic.text).toBe(200);
    });

    it('a client_secret_post client sending its right secret by Basic is 401 invalid_client', async () => {
      const tc = await makeClient(ctx, { tokenEndpointAuthMethod: 'client_secret_post' });
      const { code, verifier } = await codeFor(tc.client);
      const res = await postForm(
        server.url,
        '/token',
        {
          grant_type: 'authorization_code',
          code,
          redirect_uri: REDIRECT_URI,
          code_verifier: verifier,
        },
        { authorization: basicAuth(tc.client.id, tc.secret!) },
      );
      expectOAuthError(res, 401, 'invalid_client');
      expect(res.body.error_description).toContain('client_secret_post');
    });

    it('a confidential client sending no secret is 401 invalid_client', async () => {
      const tc = await makeClient(ctx);
      const { code, verifier } = await codeFor(tc.client);
      const res = await postForm(server.url, '/token', {
        grant_type: 'authorization_code',
        code,
        redirect_uri: REDIRECT_URI,
        code_verifier: verifier,
        client_id: tc.client.id,
      });
      expectOAuthError(res, 401, 'invalid_client');
    });

    it('no client credentials at all is 401 invalid_client', async () => {
      const res = await postForm(server.url, '/token', {
        grant_type: 'authorization_code',
        code: 'abc',
      });
      expectOAuthError(res, 401, 'invalid_client');
    });

    it('a public client that sends a secret is 401 invalid_client', async () => {
      const tc = await makeClient(ctx, { type: 'public' });
      const res = await postForm(server.url, '/token', {
        grant_type: 'authorization_code',
        code: 'abc',
        client_id: tc.client.id,
        client_secret: 'anything',
      });
      expectOAuthError(res, 401, 'invalid_client');
    });

    it('Basic and client_secret together are 400 invalid_request', async () => {
      const tc = await makeClient(ctx);
      const res = await postForm(
        server.url,
        '/token',
        {
          grant_type: 'authorization_code',
          code: 'abc',
          client_id: tc.client.id,
          client_secret: tc.secret,
        },
        { authorization: basicAuth(tc.client.id, tc.secret!) },
      );
      expectOAuthError(res, 400, 'invalid_request');
    });

    it('a body client_id that differs from the Basic one is 400 invalid_request', async () => {
      const tc = await makeClient(ctx);
      const res = await postForm(
        server.url,
        '/token',
        { grant_type: 'authorization_code', code: 'abc', client_id: 'someone-else' },
        { authorization: basicAuth(tc.client.id, tc.secret!) },
      );
      expectOAuthError(res, 400, 'invalid_request');
    });
  });

  describe('grant_type', () => {
    it('missing is invalid_request', async () => {
      const tc = await makeClient(ctx);
      const res = await postAsClient(server.url, '/token', tc, { code: 'abc' });
      expectOAuthError(res, 400, 'invalid_request');
    });

    it('unknown is unsupported_grant_type', async () => {
      const tc = await makeClient(ctx);
      for (const grantType of ['password', 'implicit', 'urn:example:nope']) {
        const res = await postAsClient(server.url, '/token', tc, { grant_type: grantType });
        expectOAuthError(res, 400, 'unsupported_grant_type');
      }
    });

    it('not allowed for the client is unauthorized_client', async () => {
      const tc = await makeClient(ctx, {
        grantTypes: ['client_credentials'],
        scopes: ['api:read'],
      });
      const res = await postAsClient(server.url, '/token', tc, {
        grant_type: 'authorization_code',
        code: 'abc',
      });
      expectOAuthError(res, 400, 'unauthorized_client');
    });
  });

  describe('malformed requests (never a 500)', () => {
    it('a parameter sent twice is invalid_request', async () => {
      const tc = await makeClient(ctx);
      const { code, verifier } = await codeFor(tc.client);
      const auth = { authorization: basicAuth(tc.client.id, tc.secret!) };
      const form = 'application/x-www-form-urlencoded';
      for (const body of [
        `grant_type=authorization_code&code=${code}&code=${code}&code_verifier=${verifier}`,
        `grant_type=authorization_code&grant_type=authorization_code&code=${code}`,
        `grant_type=authorization_code&code=${code}&code_verifier=${verifier}&code_verifier=${verifier}`,
        `grant_type=authorization_code&code=${code}&redirect_uri=${REDIRECT_URI}&redirect_uri=${REDIRECT_URI}`,
      ]) {
        expectOAuthError(
          await postRaw(server.url, '/token', body, form, auth),
          400,
          'invalid_request',
        );
      }
      const twiceId = await postRaw(
        server.url,
        '/token',
        `grant_type=authorization_code&code=abc&client_id=${tc.client.id}&client_id=${tc.client.id}&client_secret=${tc.secret}`,
        form,
      );
      expectOAuthError(twiceId, 400, 'invalid_request');
    });

    it('a JSON array where a value belongs is invalid_request', async () => {
      const tc = await makeClient(ctx, { tokenEndpointAuthMethod: 'client_secret_post' });
      const res = await postJson(server.url, '/token', {
        grant_type: 'authorization_code',
        code: ['a', 'b'],
        client_id: tc.client.id,
        client_secret: tc.secret,
      });
      expectOAuthError(res, 400, 'invalid_request');
    });

    it('a JSON object where a value belongs is invalid_request', async () => {
      const res = await postJson(server.url, '/token', { grant_type: { evil: true } });
      expectOAuthError(res, 400, 'invalid_request');
      const id = await postJson(server.url, '/token', {
        grant_type: 'authorization_code',
        client_id: { id: 1 },
      });
      expectOAuthError(id, 400, 'invalid_request');
    });

    it('a JSON body that is not an object is invalid_request', async () => {
      for (const json of [['grant_type'], 'authorization_code', 42]) {
        expectOAuthError(await postJson(server.url, '/token', json), 400, 'invalid_request');
      }
    });

    it('malformed JSON is 400 invalid_request', async () => {
      for (const body of [
        '{"grant_type": "authorization_code"',
        '{not json}',
        '{"__proto__": {"x": 1}}',
      ]) {
        const res = await postRaw(server.url, '/token', body, 'application/json');
        expectOAuthError(res, 400, 'invalid_request');
      }
    });

    it('an empty JSON body is 400', async () => {
      const res = await postRaw(server.url, '/token', '', 'application/json');
      expectOAuthError(res, 400, 'invalid_request');
    });

    it('an unsupported content type is 415', async () => {
      for (const type of ['text/plain', 'application/xml', 'multipart/form-data; boundary=x']) {
        const res = await postRaw(server.url, '/token', 'grant_type=authorization_code', type);
        expect(res.status, `${type}: ${res.text}`).toBe(415);
        expect(res.body.error).toBe('invalid_request');
      }
    });

    it('a body larger than 64 KiB is 413', async () => {
      const res = await postRaw(
        server.url,
        '/token',
        `grant_type=authorization_code&code=${'a'.repeat(70_000)}`,
        'application/x-www-form-urlencoded',
      );
      expect(res.status).toBe(413);
    });

    it('an overlong parameter is invalid_request', async () => {
      const tc = await makeClient(ctx);
      const res = await postAsClient(server.url, '/token', tc, {
        grant_type: 'authorization_code',
        code: 'abc',
        code_verifier: 'v'.repeat(5000),
      });
      expectOAuthError(res, 400, 'invalid_request');
    });

    it('an empty body is invalid_request', async () => {
      const res = await postRaw(server.url, '/token', '', 'application/x-www-form-urlencoded');
      expectOAuthError(res, 400, 'invalid_request');
    });

    it('GET /token is not a token request', async () => {
      const res = await fetch(`${server.url}/token?grant_type=authorization_code`);
      expect(res.status).toBe(404);
    });
  });
});
