import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { type RunningServer, startServer } from '../helpers/app.js';
import { Browser, readForms } from '../helpers/browser.js';
import {
  authorizeAndConsent,
  makeClient,
  makeUser,
  REDIRECT_URI,
  signInBrowser,
} from '../helpers/oauth.js';
import { signInThroughPage } from '../helpers/sign-in-page.js';

const insecure = { [oauth.allowInsecureRequests]: true };

/**
 * oauth4webapi, the strictest low-level OAuth/OIDC client for JavaScript,
 * against a listening Tessera. Every response goes through its process*
 * functions, which refuse anything not to the letter of the specs.
 */
describe('oauth4webapi as the relying party', () => {
  let server: RunningServer;
  let ctx: AppContext;
  let as: oauth.AuthorizationServer;
  beforeAll(async () => {
    server = await startServer();
    ctx = server.app.tessera;
    const issuer = new URL(server.url);
    as = await oauth.processDiscoveryResponse(
      issuer,
      await oauth.discoveryRequest(issuer, insecure),
    );
  });
  afterAll(async () => server.close());

  async function setup(
    overrides: Parameters<typeof makeClient>[1] = {},
    { signIn = true }: { signIn?: boolean } = {},
  ) {
    const made = await makeClient(ctx, {
      responseTypes: ['code', 'code id_token', 'code token', 'code id_token token'],
      ...overrides,
    });
    // The library is told what the client registered, so that it holds Tessera to it.
    const client: oauth.Client = {
      client_id: made.client.id,
      id_token_signed_response_alg: made.client.idTokenSignedResponseAlg,
      ...(made.client.requireAuthTime ? { require_auth_time: true } : {}),
    };
    const auth = made.secret ? oauth.ClientSecretBasic(made.secret) : oauth.None();
    const { user, password } = await makeUser(ctx);
    const browser = new Browser(server.url);
    if (signIn) await signInBrowser(ctx, browser, user);
    return { client, auth, user, password, browser };
  }

  async function authorize(
    client: oauth.Client,
    browser: Browser,
    extra: Record<string, string> = {},
  ) {
    const verifier = oauth.generateRandomCodeVerifier();
    const state = oauth.generateRandomState();
    const nonce = oauth.generateRandomNonce();
    const url = new URL(as.authorization_endpoint!);
    url.search = new URLSearchParams({
      client_id: client.client_id,
      redirect_uri: REDIRECT_URI,
      response_type: 'code',
      scope: 'openid profile email',
      code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
      ...extra,
    }).toString();
    const page = await authorizeAndConsent(browser, url.toString());
    return { page, verifier, state, nonce };
  }

  async function exchange(
    client: oauth.Client,
    auth: oauth.ClientAuth,
    params: URLSearchParams,
    verifier: string,
    nonce: string,
    maxAge?: number,
  ) {
    const response = await oauth.authorizationCodeGrantRequest(
      as,
      client,
      auth,
      params,
      REDIRECT_URI,
      verifier,
      insecure,
    );
    return oauth.processAuthorizationCodeResponse(as, client, response, {
      expectedNonce: nonce,
      requireIdToken: true,
      ...(maxAge !== undefined ? { maxAge } : {}),
    });
  }

  it('runs the code flow through the sign-in page: ID token claims, at_hash, userinfo sub, RFC 9068 access token', async () => {
    const { client, auth, user, password, browser } = await setup({}, { signIn: false });
    const asked = await authorize(client, browser);
    expect(new URL(asked.page.location!).pathname).toBe('/login');
    const consent = await signInThroughPage(browser, asked.page, user.email, password);
    const page = await browser.submit(consent, {}, 'Allow');
    const { verifier, state, nonce } = asked;
    const params = oauth.validateAuthResponse(as, client, new URL(page.location!), state);
    const result = await exchange(client, auth, params, verifier, nonce);
    const claims = oauth.getValidatedIdTokenClaims(result)!;
    expect(claims.sub).toBe(user.id);
    expect(claims.aud).toBe(client.client_id);
    expect(claims.acr).toBe('urn:tessera:acr:pwd');
    expect(claims.amr).toEqual(['pwd']);

    const info = await oauth.processUserInfoResponse(
      as,
      client,
      claims.sub,
      await oauth.userInfoRequest(as, client, result.access_token, insecure),
    );
    expect(info.sub).toBe(user.id);
    expect(info.email).toBe(user.email);

    const apiCall = new Request('https://api.example.com/data', {
      headers: { authorization: `Bearer ${result.access_token}` },
    });
    const atClaims = await oauth.validateJwtAccessToken(as, apiCall, server.url, insecure);
    expect(atClaims.sub).toBe(user.id);
    expect(atClaims.client_id).toBe(client.client_id);
  });

  it('answers prompt=none silently with a session and login_required without one', async () => {
    const { client, auth, browser } = await setup();
    await authorize(client, browser);
    const silent = await authorize(client, browser, { prompt: 'none' });
    const params = oauth.validateAuthResponse(
      as,
      client,
      new URL(silent.page.location!),
      silent.state,
    );
    await exchange(client, auth, params, silent.verifier, silent.nonce);

    const refused = await authorize(client, new Browser(server.url), { prompt: 'none' });
    expect(() =>
      oauth.validateAuthResponse(as, client, new URL(refused.page.location!), refused.state),
    ).toThrow(expect.objectContaining({ error: 'login_required' }));
  });

  it('checks auth_time against max_age', async () => {
    const { client, auth, browser } = await setup();
    const { page, verifier, state, nonce } = await authorize(client, browser, { max_age: '600' });
    const params = oauth.validateAuthResponse(as, client, new URL(page.location!), state);
    const result = await exchange(client, auth, params, verifier, nonce, 600);
    expect(typeof oauth.getValidatedIdTokenClaims(result)!.auth_time).toBe('number');
  });

  it('accepts a form_post response', async () => {
    const { client, auth, browser } = await setup();
    await authorize(client, browser);
    const { page, verifier, state, nonce } = await authorize(client, browser, {
      response_mode: 'form_post',
    });
    const form = readForms(page.text, page.url)[0]!;
    const params = oauth.validateAuthResponse(as, client, new URLSearchParams(form.fields), state);
    await exchange(client, auth, params, verifier, nonce);
  });

  it('validates the hybrid flow (code id_token): signature, c_hash, nonce', async () => {
    const { client, auth, browser } = await setup();
    await authorize(client, browser);
    const { page, verifier, state, nonce } = await authorize(client, browser, {
      response_type: 'code id_token',
    });
    const url = new URL(page.location!);
    const params = await oauth.validateCodeIdTokenResponse(
      as,
      client,
      new URLSearchParams(url.hash.slice(1)),
      nonce,
      state,
      undefined,
      insecure,
    );
    await exchange(client, auth, params, verifier, nonce);
  });

  it('refreshes with a new ID token, which keeps the original auth_time', async () => {
    const { client, auth, user, browser } = await setup({ idTokenSignedResponseAlg: 'EdDSA' });
    const { page, verifier, state, nonce } = await authorize(client, browser);
    const params = oauth.validateAuthResponse(as, client, new URL(page.location!), state);
    const first = await exchange(client, auth, params, verifier, nonce);
    const response = await oauth.refreshTokenGrantRequest(
      as,
      client,
      auth,
      first.refresh_token!,
      insecure,
    );
    const refreshed = await oauth.processRefreshTokenResponse(as, client, response);
    expect(refreshed.refresh_token).not.toBe(first.refresh_token);
    const claims = oauth.getValidatedIdTokenClaims(refreshed)!;
    expect(claims.sub).toBe(user.id);
    const original = oauth.getValidatedIdTokenClaims(first)!.auth_time;
    expect(typeof original).toBe('number');
    expect(claims.auth_time).toBe(original);
  });

  it('keeps validating access tokens across a key rotation', async () => {
    const { client, auth, browser } = await setup();
    const { page, verifier, state, nonce } = await authorize(client, browser);
    const params = oauth.validateAuthResponse(as, client, new URL(page.location!), state);
    const before = await exchange(client, auth, params, verifier, nonce);
    await ctx.keys.rotate();
    const request = () =>
      new Request('https://api.example.com/', {
        headers: { authorization: `Bearer ${before.access_token}` },
      });
    await oauth.validateJwtAccessToken(as, request(), server.url, insecure);
    const after = await authorize(client, browser);
    const afterParams = oauth.validateAuthResponse(
      as,
      client,
      new URL(after.page.location!),
      after.state,
    );
    const tokens = await exchange(client, auth, afterParams, after.verifier, after.nonce);
    const api = new Request('https://api.example.com/', {
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    await oauth.validateJwtAccessToken(as, api, server.url, insecure);
  });

  it('revokes and introspects', async () => {
    const { client, auth, browser } = await setup();
    const { page, verifier, state, nonce } = await authorize(client, browser);
    const params = oauth.validateAuthResponse(as, client, new URL(page.location!), state);
    const tokens = await exchange(client, auth, params, verifier, nonce);
    const active = await oauth.processIntrospectionResponse(
      as,
      client,
      await oauth.introspectionRequest(as, client, auth, tokens.access_token, insecure),
    );
    expect(active.active).toBe(true);
    await oauth.processRevocationResponse(
      await oauth.revocationRequest(as, client, auth, tokens.refresh_token!, insecure),
    );
    const inactive = await oauth.processIntrospectionResponse(
      as,
      client,
      await oauth.introspectionRequest(as, client, auth, tokens.access_token, insecure),
    );
    expect(inactive).toEqual({ active: false });
  });

  it('signs out at the advertised end_session_endpoint', async () => {
    const { client, auth, browser } = await setup({
      postLogoutRedirectUris: ['https://app.example.com/bye'],
    });
    const { page, verifier, state, nonce } = await authorize(client, browser);
    const params = oauth.validateAuthResponse(as, client, new URL(page.location!), state);
    const result = await exchange(client, auth, params, verifier, nonce);
    const url = new URL(as.end_session_endpoint!);
    url.search = new URLSearchParams({
      id_token_hint: result.id_token!,
      post_logout_redirect_uri: 'https://app.example.com/bye',
    }).toString();
    const done = await browser.get(url.toString());
    expect(done.location).toBe('https://app.example.com/bye');
    expect((await browser.get('/account')).status).toBe(303);
  });
});
