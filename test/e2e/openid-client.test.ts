import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { FrozenClock } from '../../src/lib/clock.js';
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

/**
 * openid-client, a strict certified relying party, against a listening
 * Tessera: it validates discovery, ID token signatures and claims, at_hash,
 * nonce, state and iss on every step.
 */
describe('openid-client as the relying party', () => {
  let server: RunningServer;
  let ctx: AppContext;
  beforeAll(async () => {
    server = await startServer();
    ctx = server.app.tessera;
  });
  afterAll(async () => server.close());

  async function setup(overrides: Parameters<typeof makeClient>[1] = {}, on = server) {
    const { client, secret } = await makeClient(on.app.tessera, {
      grantTypes: ['authorization_code', 'refresh_token'],
      responseTypes: ['code', 'code id_token', 'code token', 'code id_token token'],
      postLogoutRedirectUris: ['https://app.example.com/bye'],
      ...overrides,
    });
    // The library is told what the client registered, so that it holds Tessera to it.
    const metadata: Partial<oidc.ClientMetadata> = {
      ...(client.requireAuthTime ? { require_auth_time: true } : {}),
      ...(client.defaultMaxAge !== null ? { default_max_age: client.defaultMaxAge } : {}),
    };
    const config = await oidc.discovery(
      new URL(on.url),
      client.id,
      metadata,
      client.type === 'public' ? oidc.None() : oidc.ClientSecretBasic(secret!),
      { execute: [oidc.allowInsecureRequests] },
    );
    const { user, password } = await makeUser(on.app.tessera);
    const browser = new Browser(on.url);
    return { client, secret, config, user, password, browser };
  }

  async function codeFlow(
    config: oidc.Configuration,
    browser: Browser,
    extra: Record<string, string> = {},
  ) {
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT_URI,
      scope: 'openid profile email offline_access',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
      ...extra,
    });
    const page = await authorizeAndConsent(browser, url.toString());
    return { page, verifier, state, nonce };
  }

  it('discovers the provider', async () => {
    const { config } = await setup();
    const meta = config.serverMetadata();
    expect(meta.issuer).toBe(server.url);
    expect(meta.token_endpoint).toBe(`${server.url}/token`);
    expect(meta.code_challenge_methods_supported).toContain('S256');
  });

  it('runs the code flow with PKCE, validates the ID token, calls userinfo, refreshes and revokes', async () => {
    const { config, user, browser } = await setup();
    await signInBrowser(ctx, browser, user);
    const { page, verifier, state, nonce } = await codeFlow(config, browser);
    const tokens = await oidc.authorizationCodeGrant(config, new URL(page.location!), {
      pkceCodeVerifier: verifier,
      expectedState: state,
      expectedNonce: nonce,
      idTokenExpected: true,
    });
    const claims = tokens.claims()!;
    expect(claims.sub).toBe(user.id);
    expect(claims.iss).toBe(server.url);
    expect(claims.nonce).toBe(nonce);
    expect(typeof claims.at_hash).toBe('string');
    expect(typeof claims.auth_time).toBe('number');
    expect(claims.acr).toBe('urn:tessera:acr:pwd');

    const info = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
    expect(info).toMatchObject({
      sub: user.id,
      email: user.email,
      preferred_username: user.username,
    });

    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
    expect(refreshed.access_token).not.toBe(tokens.access_token);
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
    expect(refreshed.claims()?.sub).toBe(user.id);

    await oidc.tokenRevocation(config, refreshed.refresh_token!);
    const introspected = await oidc.tokenIntrospection(config, refreshed.access_token);
    expect(introspected.active).toBe(false);
    await expect(oidc.refreshTokenGrant(config, refreshed.refresh_token!)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
  });

  it('runs the code flow for a public client (PKCE, no secret)', async () => {
    const { config, user, browser } = await setup({
      type: 'public',
      tokenEndpointAuthMethod: 'none',
    });
    await signInBrowser(ctx, browser, user);
    const { page, verifier, state, nonce } = await codeFlow(config, browser);
    const tokens = await oidc.authorizationCodeGrant(config, new URL(page.location!), {
      pkceCodeVerifier: verifier,
      expectedState: state,
      expectedNonce: nonce,
    });
    expect(tokens.claims()?.sub).toBe(user.id);
  });

  it('answers prompt=none silently with a session, and with login_required without one', async () => {
    const { config, user, browser } = await setup();
    await signInBrowser(ctx, browser, user);
    await codeFlow(config, browser); // consent once
    const silent = await codeFlow(config, browser, { prompt: 'none' });
    const tokens = await oidc.authorizationCodeGrant(config, new URL(silent.page.location!), {
      pkceCodeVerifier: silent.verifier,
      expectedState: silent.state,
      expectedNonce: silent.nonce,
    });
    expect(tokens.claims()?.sub).toBe(user.id);

    const anonymous = new Browser(server.url);
    const refused = await codeFlow(config, anonymous, { prompt: 'none' });
    await expect(
      oidc.authorizationCodeGrant(config, new URL(refused.page.location!), {
        pkceCodeVerifier: refused.verifier,
        expectedState: refused.state,
      }),
    ).rejects.toMatchObject({ error: 'login_required' });
  });

  it('signs in through the sign-in page, and honours max_age once the sign-in has aged', async () => {
    // The server's clock starts two hours back, so that the sign-in ages without waiting; it
    // catches up with real time before any token reaches the library, which checks times itself.
    const clock = new FrozenClock(Date.now() - 7_200_000);
    const aged = await startServer({ clock });
    try {
      const { config, user, password, browser } = await setup({ firstParty: true }, aged);
      const asked = await codeFlow(config, browser, { max_age: '3600' });
      expect(new URL(asked.page.location!).pathname).toBe('/login');
      const signedIn = await signInThroughPage(browser, asked.page, user.username, password);
      expect(signedIn.location?.startsWith(REDIRECT_URI)).toBe(true);
      const signedInAt = Math.floor(clock.now() / 1000);

      clock.set(Date.now());
      // Two hours later, max_age=3600 no longer accepts that sign-in; max_age=10800 still does.
      const stale = await codeFlow(config, browser, { max_age: '3600' });
      expect(new URL(stale.page.location!).pathname).toBe('/login');
      const silent = await codeFlow(config, browser, { max_age: '3600', prompt: 'none' });
      expect(new URL(silent.page.location!).searchParams.get('error')).toBe('login_required');
      const lenient = await codeFlow(config, browser, { max_age: '10800' });
      const old = await oidc.authorizationCodeGrant(config, new URL(lenient.page.location!), {
        pkceCodeVerifier: lenient.verifier,
        expectedState: lenient.state,
        expectedNonce: lenient.nonce,
        maxAge: 10800,
      });
      expect(old.claims()?.auth_time).toBe(signedInAt);

      // Signing in again through the page satisfies max_age=3600, as the library checks.
      const again = await signInThroughPage(browser, stale.page, user.username, password);
      const fresh = await oidc.authorizationCodeGrant(config, new URL(again.location!), {
        pkceCodeVerifier: stale.verifier,
        expectedState: stale.state,
        expectedNonce: stale.nonce,
        maxAge: 3600,
      });
      expect(fresh.claims()?.auth_time).toBe(Math.floor(clock.now() / 1000));
      expect(fresh.claims()?.sub).toBe(user.id);

      // max_age=0 asks every time, even right after a sign-in.
      const zero = await codeFlow(config, browser, { max_age: '0' });
      expect(new URL(zero.page.location!).pathname).toBe('/login');
    } finally {
      await aged.close();
    }
  });

  it('delivers the response by form_post', async () => {
    const { config, user, browser } = await setup();
    await signInBrowser(ctx, browser, user);
    await codeFlow(config, browser);
    const { page, verifier, state, nonce } = await codeFlow(config, browser, {
      response_mode: 'form_post',
    });
    expect(page.status).toBe(200);
    const form = readForms(page.text, page.url)[0]!;
    expect(form.action).toBe(REDIRECT_URI);
    expect(form.method).toBe('post');
    expect(page.text).toContain('<noscript>');
    const callback = new Request(REDIRECT_URI, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(form.fields).toString(),
    });
    const tokens = await oidc.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: verifier,
      expectedState: state,
      expectedNonce: nonce,
    });
    expect(tokens.claims()?.sub).toBe(user.id);
  });

  it('runs the hybrid flow (code id_token) with c_hash checked', async () => {
    const { config, user, browser } = await setup();
    oidc.useCodeIdTokenResponseType(config);
    await signInBrowser(ctx, browser, user);
    const { page, verifier, state, nonce } = await codeFlow(config, browser);
    const url = new URL(page.location!);
    expect(url.hash).toContain('id_token=');
    expect(url.search).toBe('');
    const tokens = await oidc.authorizationCodeGrant(config, url, {
      pkceCodeVerifier: verifier,
      expectedState: state,
      expectedNonce: nonce,
    });
    expect(tokens.claims()?.sub).toBe(user.id);
  });

  it('keeps working across a key rotation in the middle of a session', async () => {
    const { config, user, browser } = await setup({ idTokenSignedResponseAlg: 'ES256' });
    await signInBrowser(ctx, browser, user);
    const first = await codeFlow(config, browser);
    const before = await oidc.authorizationCodeGrant(config, new URL(first.page.location!), {
      pkceCodeVerifier: first.verifier,
      expectedState: first.state,
      expectedNonce: first.nonce,
    });
    const oldKid = JSON.parse(
      Buffer.from(before.id_token!.split('.')[0]!, 'base64url').toString(),
    ).kid;

    await ctx.keys.rotate();

    const info = await oidc.fetchUserInfo(config, before.access_token, user.id);
    expect(info.sub).toBe(user.id);
    const refreshed = await oidc.refreshTokenGrant(config, before.refresh_token!);
    const newKid = JSON.parse(
      Buffer.from(refreshed.id_token!.split('.')[0]!, 'base64url').toString(),
    ).kid;
    expect(newKid).not.toBe(oldKid);
    expect(refreshed.claims()?.sub).toBe(user.id);
    const jwks = (await (await fetch(`${server.url}/jwks`)).json()) as { keys: { kid: string }[] };
    expect(jwks.keys.map((k) => k.kid)).toEqual(expect.arrayContaining([oldKid, newKid]));
  });

  it('signs out through RP-initiated logout built by the library', async () => {
    const { config, user, browser } = await setup();
    await signInBrowser(ctx, browser, user);
    const { page, verifier, state, nonce } = await codeFlow(config, browser);
    const tokens = await oidc.authorizationCodeGrant(config, new URL(page.location!), {
      pkceCodeVerifier: verifier,
      expectedState: state,
      expectedNonce: nonce,
    });
    expect(config.serverMetadata().end_session_endpoint).toBe(`${server.url}/logout`);
    const logoutUrl = oidc.buildEndSessionUrl(config, {
      id_token_hint: tokens.id_token!,
      post_logout_redirect_uri: 'https://app.example.com/bye',
      state: 'bye-state',
    });
    const done = await browser.get(logoutUrl.toString());
    expect(done.location).toBe('https://app.example.com/bye?state=bye-state');
    expect((await browser.get('/account')).status).toBe(303);
  });
});
