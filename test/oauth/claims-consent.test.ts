import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import type { Client } from '../../src/store/types.js';
import { type RunningServer, startServer } from '../helpers/app.js';
import { Browser, readForms } from '../helpers/browser.js';
import {
  authorizePath,
  makeClient,
  makeUser,
  pkce,
  postAsClient,
  REDIRECT_URI,
  redirectParams,
  refresh,
  signInBrowser,
  type TestClient,
  userinfo,
} from '../helpers/oauth.js';

/** Everything the review's client asked for by name, for both targets. */
const GREEDY = JSON.stringify({
  userinfo: { email: null, phone_number: null, name: null, address: { essential: true } },
  id_token: { email: { essential: true }, name: null, phone_number: null },
});

/**
 * Issue 9 point 1: the `claims` request parameter (OpenID Connect Core §5.5)
 * bypassed consent and the client's scopes. A claim asked for by name passes
 * the same policy as a scope: only what the client may have, shown on the
 * consent page, covered by the remembered grant (§3.1.2.4, RFC 6749 §3.3).
 */
describe('claims asked for by name: consent and client policy', () => {
  let server: RunningServer;
  let ctx: AppContext;
  beforeAll(async () => {
    server = await startServer();
    ctx = server.app.tessera;
  });
  afterAll(async () => server.close());

  async function person() {
    const { user } = await makeUser(ctx);
    const browser = new Browser(server.url);
    await signInBrowser(ctx, browser, user);
    return { user, browser };
  }

  function start(browser: Browser, client: Client, extra: Record<string, string> = {}) {
    const { verifier, challenge } = pkce();
    const path = authorizePath({
      response_type: 'code',
      client_id: client.id,
      redirect_uri: REDIRECT_URI,
      scope: 'openid',
      state: 'st',
      code_challenge: challenge,
      code_challenge_method: 'S256',
      ...extra,
    });
    return { verifier, page: browser.get(path) };
  }

  async function exchange(tc: TestClient, code: string, verifier: string) {
    const res = await postAsClient(server.url, '/token', tc, {
      grant_type: 'authorization_code',
      code,
      redirect_uri: REDIRECT_URI,
      code_verifier: verifier,
    });
    expect(res.status, res.text).toBe(200);
    return res.body as { access_token: string; id_token: string; refresh_token: string };
  }

  /** The scope and claim lines of a consent page. */
  const consentLines = (html: string) =>
    [...html.matchAll(/<li>([\s\S]*?)<\/li>/g)].map((m) => m[1]!.replace(/<[^>]+>/g, '').trim());

  it('a client registered for openid only gets none of the claims it asks for by name, on any path', async () => {
    const tc = await makeClient(ctx, { scopes: ['openid', 'offline_access'] });
    const { user, browser } = await person();

    const first = start(browser, tc.client, { claims: GREEDY });
    const consent = await first.page;
    expect(consent.status).toBe(200);
    // The page says only what the client can get: who the person is.
    expect(consentLines(consent.text)).toEqual([
      'Know who you are (your account identifier) (openid)',
    ]);
    const allowed = await browser.submit(consent, {}, 'Allow');
    const tokens = await exchange(tc, redirectParams(allowed).get('code')!, first.verifier);
    expect((await userinfo(server.url, tokens.access_token)).body).toEqual({ sub: user.id });
    const idToken = decodeJwt(tokens.id_token);
    for (const claim of ['email', 'name', 'phone_number']) expect(idToken[claim]).toBeUndefined();

    // prompt=none, with the grant remembered: still nothing more, and no page at all.
    const silent = start(browser, tc.client, { claims: GREEDY, prompt: 'none' });
    const code = redirectParams(await silent.page).get('code');
    expect(code).toBeTruthy();
    const again = await exchange(tc, code!, silent.verifier);
    expect((await userinfo(server.url, again.access_token)).body).toEqual({ sub: user.id });
    expect(decodeJwt(again.id_token).email).toBeUndefined();

    // Nor after a refresh.
    const refreshed = await refresh(server.url, tc, again.refresh_token);
    expect(refreshed.status, refreshed.text).toBe(200);
    expect((await userinfo(server.url, String(refreshed.body.access_token))).body).toEqual({
      sub: user.id,
    });
    expect(decodeJwt(String(refreshed.body.id_token)).email).toBeUndefined();
  });

  it('a claim the client may have, asked for by name, is shown on the consent page and released only after Allow', async () => {
    const tc = await makeClient(ctx, { scopes: ['openid', 'email', 'profile', 'offline_access'] });
    const { user, browser } = await person();
    const claims = JSON.stringify({ userinfo: { email: null }, id_token: { email: null } });
    const flow = start(browser, tc.client, { claims });
    const consent = await flow.page;
    expect(consentLines(consent.text)).toEqual([
      'Know who you are (your account identifier) (openid)',
      'See your e-mail address (email, asked for by name)',
    ]);
    const allowed = await browser.submit(consent, {}, 'Allow');
    const tokens = await exchange(tc, redirectParams(allowed).get('code')!, flow.verifier);
    // Exactly what was asked for: e-mail, not the rest of the profile its scopes could release.
    expect((await userinfo(server.url, tokens.access_token)).body).toEqual({
      sub: user.id,
      email: user.email,
    });
    expect(decodeJwt(tokens.id_token).email).toBe(user.email);
    expect(decodeJwt(tokens.id_token).name).toBeUndefined();
    // And still after a refresh: consented claims survive it, as scopes do.
    const refreshed = await refresh(server.url, tc, tokens.refresh_token);
    expect((await userinfo(server.url, String(refreshed.body.access_token))).body.email).toBe(
      user.email,
    );
  });

  it('a remembered grant that does not cover a claim asks again, and prompt=none is consent_required', async () => {
    const tc = await makeClient(ctx, { scopes: ['openid', 'email', 'phone'] });
    const { user, browser } = await person();
    // First, consent to openid alone.
    const plain = start(browser, tc.client);
    const plainConsent = await plain.page;
    await browser.submit(plainConsent, {}, 'Allow');

    const claims = JSON.stringify({ userinfo: { phone_number: null } });
    const silent = await start(browser, tc.client, { claims, prompt: 'none' }).page;
    expect(redirectParams(silent).get('error')).toBe('consent_required');
    expect(redirectParams(silent).get('code')).toBeNull();

    // Without prompt=none the consent page comes back, naming the new claim as new.
    const asked = start(browser, tc.client, { claims });
    const page = await asked.page;
    expect(page.status).toBe(200);
    expect(consentLines(page.text)).toContain(
      'New See your phone number (phone_number, asked for by name)',
    );
    const tokens = await exchange(
      tc,
      redirectParams(await browser.submit(page, {}, 'Allow')).get('code')!,
      asked.verifier,
    );
    expect((await userinfo(server.url, tokens.access_token)).body).toEqual({
      sub: user.id,
      phone_number: '+44 20 7946 0000',
    });

    // The grant now covers it: prompt=none works for the same claims, and only those.
    const covered = start(browser, tc.client, { claims, prompt: 'none' });
    expect(redirectParams(await covered.page).get('code')).toBeTruthy();
    const more = JSON.stringify({ userinfo: { phone_number: null, email: null } });
    const wider = await start(browser, tc.client, { claims: more, prompt: 'none' }).page;
    expect(redirectParams(wider).get('error')).toBe('consent_required');
  });

  it('Deny releases nothing, and remembers nothing', async () => {
    const tc = await makeClient(ctx, { scopes: ['openid', 'email'] });
    const { browser } = await person();
    const claims = JSON.stringify({ userinfo: { email: null } });
    const denied = await browser.submit(
      await start(browser, tc.client, { claims }).page,
      {},
      'Deny',
    );
    expect(redirectParams(denied).get('error')).toBe('access_denied');
    const silent = await start(browser, tc.client, { claims, prompt: 'none' }).page;
    expect(redirectParams(silent).get('error')).toBe('consent_required');
  });

  it('a first-party client skips the page but still gets only what its scopes allow', async () => {
    const tc = await makeClient(ctx, { scopes: ['openid', 'email'], firstParty: true });
    const { user, browser } = await person();
    const flow = start(browser, tc.client, { claims: GREEDY });
    const page = await flow.page;
    const tokens = await exchange(tc, redirectParams(page).get('code')!, flow.verifier);
    expect((await userinfo(server.url, tokens.access_token)).body).toEqual({
      sub: user.id,
      email: user.email,
    });
    expect(decodeJwt(tokens.id_token).email).toBe(user.email);
    expect(decodeJwt(tokens.id_token).phone_number).toBeUndefined();
  });

  it('a malformed claims parameter is invalid_request, sent back to the client', async () => {
    const tc = await makeClient(ctx);
    const { browser } = await person();
    for (const claims of [
      '[]',
      '"email"',
      'not json',
      '{"userinfo":"email"}',
      '{"userinfo":{"email":true}}',
      '{"id_token":[1,2]}',
      JSON.stringify({ userinfo: { [`x${'y'.repeat(200)}`]: null } }),
    ]) {
      const res = await start(browser, tc.client, { claims }).page;
      expect(redirectParams(res).get('error'), claims).toBe('invalid_request');
      expect(redirectParams(res).get('state')).toBe('st');
    }
  });

  it('the consent form of a claims request cannot be answered twice', async () => {
    const tc = await makeClient(ctx, { scopes: ['openid', 'email'] });
    const { browser } = await person();
    const claims = JSON.stringify({ userinfo: { email: null } });
    const page = await start(browser, tc.client, { claims }).page;
    const form = readForms(page.text, page.url).find((f) => f.action.endsWith('/consent'))!;
    const first = await browser.post('/consent', { ...form.fields, decision: 'allow' });
    expect(redirectParams(first).get('code')).toBeTruthy();
    const replay = await browser.post('/consent', { ...form.fields, decision: 'allow' });
    expect(replay.status).toBe(400);
    expect(replay.location).toBeUndefined();
    expect(replay.text).toContain('already been answered');
  });

  it('a claim asked for the ID token alone is on the consent page, then in the ID token (refreshed ones too), not in /userinfo', async () => {
    const tc = await makeClient(ctx, { scopes: ['openid', 'profile', 'email', 'offline_access'] });
    const { user, browser } = await person();
    const claims = JSON.stringify({ id_token: { email: null, given_name: { essential: true } } });
    const flow = start(browser, tc.client, { claims, scope: 'openid offline_access' });
    const consent = await flow.page;
    expect(consentLines(consent.text)).toEqual([
      'Know who you are (your account identifier) (openid)',
      expect.stringContaining('offline_access'),
      'See your e-mail address (email, asked for by name)',
      'See your first name (given_name, asked for by name)',
    ]);
    const allowed = await browser.submit(consent, {}, 'Allow');
    const tokens = await exchange(tc, redirectParams(allowed).get('code')!, flow.verifier);
    const idToken = decodeJwt(tokens.id_token);
    expect(idToken.email).toBe(user.email);
    expect(idToken.given_name).toBe('Alice');
    expect(idToken.family_name).toBeUndefined();
    // Asked for the ID token, so /userinfo does not answer them.
    expect((await userinfo(server.url, tokens.access_token)).body).toEqual({ sub: user.id });
    const refreshed = await refresh(server.url, tc, tokens.refresh_token);
    expect(refreshed.status, refreshed.text).toBe(200);
    const again = decodeJwt(String(refreshed.body.id_token));
    expect(again.email).toBe(user.email);
    expect(again.given_name).toBe('Alice');
  });

  it('a claim asked for the ID token without consent: prompt=none is consent_required, Deny puts it in no ID token', async () => {
    const tc = await makeClient(ctx, { scopes: ['openid', 'email'] });
    const { browser } = await person();
    // Consent to openid alone first, so that only the claim is missing from the grant.
    await browser.submit(await start(browser, tc.client).page, {}, 'Allow');
    const claims = JSON.stringify({ id_token: { email: { essential: true } } });
    const silent = await start(browser, tc.client, { claims, prompt: 'none' }).page;
    expect(redirectParams(silent).get('error')).toBe('consent_required');
    const denied = await browser.submit(
      await start(browser, tc.client, { claims }).page,
      {},
      'Deny',
    );
    expect(redirectParams(denied).get('error')).toBe('access_denied');
    // Without the claims parameter the grant still holds, and the ID token has no e-mail.
    const plain = start(browser, tc.client);
    const code = redirectParams(await plain.page).get('code');
    const tokens = await exchange(tc, code!, plain.verifier);
    expect(decodeJwt(tokens.id_token).email).toBeUndefined();
  });

  it('the front-channel ID token of a hybrid response carries a consented claim asked for by name, and nothing the client may not have', async () => {
    const tc = await makeClient(ctx, {
      scopes: ['openid', 'email'],
      responseTypes: ['code', 'code id_token'],
    });
    const { user, browser } = await person();
    const claims = JSON.stringify({ id_token: { email: null, phone_number: null } });
    const consent = await start(browser, tc.client, {
      claims,
      response_type: 'code id_token',
      nonce: 'n-1',
    }).page;
    expect(consentLines(consent.text)).toEqual([
      'Know who you are (your account identifier) (openid)',
      'See your e-mail address (email, asked for by name)',
    ]);
    const allowed = await browser.submit(consent, {}, 'Allow');
    const fragment = new URLSearchParams(new URL(allowed.location!).hash.slice(1));
    const idToken = decodeJwt(fragment.get('id_token')!);
    expect(idToken.email).toBe(user.email);
    expect(idToken.phone_number).toBeUndefined();
  });

  it('claims released by scope go to /userinfo, not into the ID token (OpenID Connect Core §5.4)', async () => {
    const tc = await makeClient(ctx, { firstParty: true });
    const { user, browser } = await person();
    const flow = start(browser, tc.client, { scope: 'openid profile email phone address' });
    const tokens = await exchange(tc, redirectParams(await flow.page).get('code')!, flow.verifier);
    const idToken = decodeJwt(tokens.id_token);
    for (const claim of ['email', 'name', 'given_name', 'preferred_username', 'phone_number']) {
      expect(idToken[claim], claim).toBeUndefined();
    }
    expect(idToken.sub).toBe(user.id);
    expect((await userinfo(server.url, tokens.access_token)).body).toMatchObject({
      sub: user.id,
      email: user.email,
      preferred_username: user.username,
      given_name: 'Alice',
      phone_number: '+44 20 7946 0000',
    });
    // Refreshed ID tokens follow the same rule.
    const refreshed = await refresh(server.url, tc, tokens.refresh_token);
    expect(decodeJwt(String(refreshed.body.id_token)).email).toBeUndefined();
  });
});
