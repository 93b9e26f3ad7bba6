import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { startSession } from '../../src/domain/sessions.js';
import type { TokenEndpointAuthMethod } from '../../src/store/types.js';
import { type RunningServer, startServer } from '../helpers/app.js';
import { Browser, type Page, readForms } from '../helpers/browser.js';
import {
  assertionClaims,
  CLIENT_ASSERTION_TYPE,
  keyPair,
  signWith,
} from '../helpers/client-jwt.js';
import {
  authorizePath,
  basicAuth,
  makeClient,
  makeUser,
  obtainCode,
  pkce,
  postForm,
  REDIRECT_URI,
  redirectParams,
  signInBrowser,
} from '../helpers/oauth.js';

type Metadata = Record<string, unknown> & {
  response_types_supported: string[];
  response_modes_supported: string[];
  grant_types_supported: string[];
  id_token_signing_alg_values_supported: string[];
  userinfo_signing_alg_values_supported: string[];
  token_endpoint_auth_methods_supported: string[];
  scopes_supported: string[];
  claims_supported: string[];
  prompt_values_supported: string[];
};

/** Every advertised value is checked against behaviour, and a few unadvertised ones are checked to fail. */
describe('discovery metadata is complete and true', () => {
  let server: RunningServer;
  let ctx: AppContext;
  let meta: Metadata;
  beforeAll(async () => {
    server = await startServer();
    ctx = server.app.tessera;
    meta = (await (
      await fetch(`${server.url}/.well-known/openid-configuration`)
    ).json()) as Metadata;
  });
  afterAll(async () => server.close());

  async function signedIn() {
    const { user } = await makeUser(ctx);
    const browser = new Browser(server.url);
    await signInBrowser(ctx, browser, user);
    return { user, browser };
  }

  it('serves the same document at both well-known paths, with our issuer', async () => {
    const other = await (
      await fetch(`${server.url}/.well-known/oauth-authorization-server`)
    ).json();
    expect(other).toEqual(meta);
    expect(meta.issuer).toBe(server.url);
  });

  it('every advertised endpoint answers (none is a 404)', async () => {
    for (const key of Object.keys(meta).filter(
      (k) => k.endsWith('_endpoint') || k === 'jwks_uri',
    )) {
      const url = String(meta[key]);
      expect(url.startsWith(server.url), key).toBe(true);
      const get = await fetch(url, { redirect: 'manual' });
      const post = await fetch(url, { method: 'POST', redirect: 'manual' });
      expect(
        [get.status, post.status].some((s) => s !== 404),
        key,
      ).toBe(true);
    }
  });

  it('every advertised response_type and response_mode works', async () => {
    const { client } = await makeClient(ctx, {
      firstParty: true,
      responseTypes: meta.response_types_supported,
    });
    const { browser } = await signedIn();
    for (const responseType of meta.response_types_supported) {
      for (const mode of meta.response_modes_supported) {
        if (responseType !== 'code' && mode === 'query') continue;
        const page = await browser.get(
          authorizePath({
            response_type: responseType,
            response_mode: mode,
            client_id: client.id,
            redirect_uri: REDIRECT_URI,
            scope: 'openid',
            nonce: 'n',
            state: 's',
          }),
        );
        const label = `${responseType} / ${mode}`;
        if (mode === 'form_post') {
          expect(page.status, label).toBe(200);
          expect(page.text, label).toContain('name="code"');
        } else {
          const params = redirectParams(page);
          expect(params.get('code'), label).toBeTruthy();
          expect(new URL(page.location!).hash !== '', label).toBe(mode === 'fragment');
          for (const part of responseType.split(' ').filter((p) => p !== 'code')) {
            expect(params.get(part === 'token' ? 'access_token' : part), label).toBeTruthy();
          }
        }
      }
    }
  });

  it('every advertised grant type is recognised; an unadvertised one is refused', async () => {
    const { client, secret } = await makeClient(ctx, { grantTypes: [] });
    const auth = { authorization: basicAuth(client.id, secret!) };
    for (const grantType of meta.grant_types_supported) {
      const res = await postForm(server.url, '/token', { grant_type: grantType }, auth);
      expect(res.body.error, grantType).toBe('unauthorized_client');
    }
    const password = await postForm(server.url, '/token', { grant_type: 'password' }, auth);
    expect(password.body.error).toBe('unsupported_grant_type');
  });

  it('every advertised ID token algorithm signs ID tokens that verify with the JWKS', async () => {
    const jwks = createRemoteJWKSet(new URL(String(meta.jwks_uri)));
    const { browser } = await signedIn();
    for (const alg of meta.id_token_signing_alg_values_supported) {
      const { client, secret } = await makeClient(ctx, {
        idTokenSignedResponseAlg: alg,
        firstParty: true,
      });
      const code = await obtainCode(browser, client);
      const res = await postForm(
        server.url,
        '/token',
        { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI },
        { authorization: basicAuth(client.id, secret!) },
      );
      const idToken = String(res.body.id_token);
      expect(decodeProtectedHeader(idToken).alg).toBe(alg);
      await jwtVerify(idToken, jwks, { issuer: server.url, audience: client.id });
    }
  });

  it('every advertised userinfo algorithm signs userinfo responses', async () => {
    const jwks = createRemoteJWKSet(new URL(String(meta.jwks_uri)));
    const { browser, user } = await signedIn();
    for (const alg of meta.userinfo_signing_alg_values_supported) {
      const { client, secret } = await makeClient(ctx, {
        userinfoSignedResponseAlg: alg,
        firstParty: true,
      });
      const code = await obtainCode(browser, client);
      const tokens = await postForm(
        server.url,
        '/token',
        { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI },
        { authorization: basicAuth(client.id, secret!) },
      );
      const res = await fetch(String(meta.userinfo_endpoint), {
        headers: { authorization: `Bearer ${tokens.body.access_token}` },
      });
      expect(res.headers.get('content-type')).toContain('application/jwt');
      const { payload, protectedHeader } = await jwtVerify(await res.text(), jwks, {
        issuer: server.url,
        audience: client.id,
      });
      expect(protectedHeader.alg).toBe(alg);
      expect(payload.sub).toBe(user.id);
    }
  });

  it('every advertised token endpoint auth method authenticates a client', async () => {
    const key = await keyPair();
    for (const method of meta.token_endpoint_auth_methods_supported) {
      const isPublic = method === 'none';
      const { client, secret } = await makeClient(ctx, {
        grantTypes: ['authorization_code'],
        tokenEndpointAuthMethod: method as TokenEndpointAuthMethod,
        ...(isPublic ? { type: 'public' } : {}),
        ...(method === 'private_key_jwt' ? { jwks: { keys: [key.publicJwk] } } : {}),
      });
      const form: Record<string, string> = { grant_type: 'authorization_code', code: 'not-a-code' };
      const headers: Record<string, string> = {};
      const claims = assertionClaims(client.id, server.url, Math.floor(Date.now() / 1000));
      if (method === 'client_secret_basic') headers.authorization = basicAuth(client.id, secret!);
      else if (method === 'client_secret_post')
        Object.assign(form, { client_id: client.id, client_secret: secret! });
      else if (method === 'client_secret_jwt' || method === 'private_key_jwt') {
        const signer = method === 'private_key_jwt' ? key : new TextEncoder().encode(secret!);
        Object.assign(form, {
          client_assertion_type: CLIENT_ASSERTION_TYPE,
          client_assertion: await signWith(signer, claims),
        });
      } else form.client_id = client.id;
      const res = await postForm(server.url, '/token', form, headers);
      // Authentication passed: the error is about the code, not the client.
      expect(res.body.error, method).toBe('invalid_grant');
    }
    // A client registered for a secret cannot send an assertion instead.
    const { client } = await makeClient(ctx);
    const jwt = await postForm(server.url, '/token', {
      grant_type: 'authorization_code',
      code: 'x',
      client_id: client.id,
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: 'a.b.c',
    });
    expect(jwt.status).toBe(401);
    expect(jwt.body.error).toBe('invalid_client');
  });

  it('advertises only S256 for PKCE, and plain is refused', async () => {
    expect(meta.code_challenge_methods_supported).toEqual(['S256']);
    const { client } = await makeClient(ctx);
    const { browser } = await signedIn();
    const { verifier } = pkce();
    const page = await browser.get(
      authorizePath({
        response_type: 'code',
        client_id: client.id,
        redirect_uri: REDIRECT_URI,
        code_challenge: verifier,
        code_challenge_method: 'plain',
      }),
    );
    expect(redirectParams(page).get('error')).toBe('invalid_request');
  });

  it('every advertised scope is accepted', async () => {
    const { client } = await makeClient(ctx, { firstParty: true });
    const { browser } = await signedIn();
    const page = await browser.get(
      authorizePath({
        response_type: 'code',
        client_id: client.id,
        redirect_uri: REDIRECT_URI,
        scope: meta.scopes_supported.join(' '),
      }),
    );
    expect(redirectParams(page).get('code')).toBeTruthy();
  });

  it('every advertised prompt value does what OpenID Connect Core §3.1.2.1 says', async () => {
    // A third-party client the person has already consented to, so that each value shows its own effect.
    const { client } = await makeClient(ctx, { name: 'Prompted App' });
    const { user, browser } = await signedIn();
    const ask = (from: Browser, prompt?: string) =>
      from.get(
        authorizePath({
          response_type: 'code',
          client_id: client.id,
          redirect_uri: REDIRECT_URI,
          scope: 'openid',
          ...(prompt ? { prompt } : {}),
        }),
      );
    await browser.submit(await ask(browser), {}, 'Allow');
    expect(redirectParams(await ask(browser)).get('code')).toBeTruthy();

    const behaviour: Record<string, (page: Page) => Promise<void> | void> = {
      // No page at all: a code for a signed-in person who consented, login_required otherwise.
      none: async (page) => {
        expect(redirectParams(page).get('code')).toBeTruthy();
        const anonymous = await ask(new Browser(server.url), 'none');
        expect(redirectParams(anonymous).get('error')).toBe('login_required');
      },
      // A signed-in person is sent to sign in again.
      login: (page) => {
        expect(page.status).toBe(303);
        expect(new URL(page.location!).pathname).toBe('/login');
      },
      // The consent page, although consent was given.
      consent: (page) => {
        expect(page.status).toBe(200);
        expect(page.text).toContain('Prompted App wants to access your account');
        expect(
          readForms(page.text, page.url).flatMap((f) => f.buttons.map((b) => b.label)),
        ).toEqual(expect.arrayContaining(['Allow', 'Deny']));
      },
      // The account chooser: the signed-in person, and another account.
      select_account: (page) => {
        expect(page.status).toBe(200);
        expect(page.text).toContain('Choose an account');
        expect(
          readForms(page.text, page.url).flatMap((f) => f.buttons.map((b) => b.label)),
        ).toEqual([`Continue as ${user.username}`, 'Use another account']);
      },
    };
    expect(meta.prompt_values_supported.length).toBeGreaterThan(0);
    for (const prompt of meta.prompt_values_supported) {
      expect(behaviour[prompt], `a behaviour checked for prompt=${prompt}`).toBeDefined();
      await behaviour[prompt]!(await ask(browser, prompt));
    }
  });

  it('every advertised acr value can be asked for, and is what the ID token says', async () => {
    expect(meta.acr_values_supported).toEqual(expect.arrayContaining([expect.any(String)]));
    const { client, secret } = await makeClient(ctx, { firstParty: true });
    const { user } = await makeUser(ctx);
    for (const acr of meta.acr_values_supported as string[]) {
      // A session that reached exactly this class: two factors as a TOTP sign-in records them.
      const browser = new Browser(server.url);
      const amr = acr.endsWith('mfa') ? ['pwd', 'otp', 'mfa'] : ['pwd'];
      const { secret: cookie } = await startSession(ctx, { userId: user.id, amr });
      browser.cookies.set('tessera_session', cookie);
      for (const asked of [
        { acr_values: acr },
        { claims: JSON.stringify({ id_token: { acr: { essential: true, values: [acr] } } }) },
      ]) {
        const code = await obtainCode(browser, client, { scope: 'openid', ...asked });
        const tokens = await postForm(
          server.url,
          '/token',
          { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI },
          { authorization: basicAuth(client.id, secret!) },
        );
        expect(decodeJwt(String(tokens.body.id_token)).acr).toBe(acr);
      }
    }
  });

  it('userinfo releases only advertised claims, and the claims parameter adds one by name', async () => {
    const { client, secret } = await makeClient(ctx, { firstParty: true });
    const { browser } = await signedIn();
    const auth = { authorization: basicAuth(client.id, secret!) };
    const code = await obtainCode(browser, client, { scope: meta.scopes_supported.join(' ') });
    const tokens = await postForm(
      server.url,
      '/token',
      { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI },
      auth,
    );
    const info = (await (
      await fetch(String(meta.userinfo_endpoint), {
        headers: { authorization: `Bearer ${tokens.body.access_token}` },
      })
    ).json()) as Record<string, unknown>;
    for (const claim of Object.keys(info)) expect(meta.claims_supported).toContain(claim);

    expect(meta.claims_parameter_supported).toBe(true);
    const code2 = await obtainCode(browser, client, {
      scope: 'openid',
      claims: JSON.stringify({ userinfo: { email: { essential: true } } }),
    });
    const tokens2 = await postForm(
      server.url,
      '/token',
      { grant_type: 'authorization_code', code: code2, redirect_uri: REDIRECT_URI },
      auth,
    );
    const info2 = (await (
      await fetch(String(meta.userinfo_endpoint), {
        headers: { authorization: `Bearer ${tokens2.body.access_token}` },
      })
    ).json()) as Record<string, unknown>;
    expect(info2.email).toBeTruthy();
    expect(info2.given_name).toBeUndefined();
  });

  it('does not take request objects, as advertised', async () => {
    expect(meta.request_parameter_supported).toBe(false);
    expect(meta.request_uri_parameter_supported).toBe(false);
  });

  it('advertises /par, which takes a pushed request, and that PAR is not required by default', async () => {
    expect(meta.pushed_authorization_request_endpoint).toBe(`${server.url}/par`);
    expect(meta.require_pushed_authorization_requests).toBe(false);
    const tc = await makeClient(ctx);
    const res = await postForm(
      server.url,
      String(meta.pushed_authorization_request_endpoint).slice(server.url.length),
      {
        client_id: tc.client.id,
        response_type: 'code',
        redirect_uri: tc.client.redirectUris[0],
        scope: 'openid',
      },
      { authorization: basicAuth(tc.client.id, tc.secret!) },
    );
    expect(res.status, res.text).toBe(201);
  });

  it('publishes keys with kid, use and alg', async () => {
    const jwks = (await (await fetch(String(meta.jwks_uri))).json()) as {
      keys: Record<string, string>[];
    };
    expect(jwks.keys.length).toBeGreaterThanOrEqual(3);
    for (const key of jwks.keys) {
      expect(key.kid).toBeTruthy();
      expect(key.use).toBe('sig');
      expect(meta.id_token_signing_alg_values_supported).toContain(key.alg);
      expect(key.d).toBeUndefined();
    }
  });
});
