import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { ACR_MFA, ACR_PASSWORD } from '../../src/domain/acr.js';
import { FrozenClock } from '../../src/lib/clock.js';
import { type RunningServer, startServer } from '../helpers/app.js';
import { Browser, type Page } from '../helpers/browser.js';
import {
  authorizePath,
  makeClient,
  makeUser,
  postAsClient,
  REDIRECT_URI,
  redirectParams,
  signInBrowser,
  type TestClient,
} from '../helpers/oauth.js';
import { enrolTotp, totpCode } from '../helpers/totp.js';

/**
 * Issue 14 point 9: clients ask for two factors with acr_values or the claims parameter, and
 * max_age; the ID token's acr and amr say what the sign-in was (OpenID Connect Core §2, §3.1.2.1,
 * §5.5.1.1; RFC 8176).
 */
describe('two factors asked for by clients (acr, amr, max_age)', () => {
  let server: RunningServer;
  let ctx: AppContext;
  const clock = new FrozenClock(1_800_000_010_000);
  beforeAll(async () => {
    server = await startServer({ clock });
    ctx = server.app.tessera;
  });
  afterAll(async () => server.close());

  const request = (tc: TestClient, extra: Record<string, string> = {}) =>
    authorizePath({
      response_type: 'code',
      client_id: tc.client.id,
      redirect_uri: REDIRECT_URI,
      scope: 'openid profile',
      state: 'st',
      ...extra,
    });

  async function exchange(tc: TestClient, page: Page) {
    const code = redirectParams(page).get('code');
    expect(code, page.location).toBeTruthy();
    const res = await postAsClient(server.url, '/token', tc, {
      grant_type: 'authorization_code',
      code: code!,
      redirect_uri: REDIRECT_URI,
    });
    expect(res.status, res.text).toBe(200);
    const body = res.body as { id_token: string; access_token: string };
    return { ...body, idToken: decodeJwt(body.id_token) };
  }

  /** A person who set up an authenticator app; their browser's session is the password one it began with. */
  async function withTotp() {
    const { user, password } = await makeUser(ctx);
    const browser = new Browser(server.url);
    await signInBrowser(ctx, browser, user);
    const { secret } = await enrolTotp(browser, clock);
    clock.advance(30);
    return { user, password, browser, secret };
  }

  /** From a redirect to the sign-in page, through the password and the code, back to the app. */
  async function signInWithCode(
    browser: Browser,
    page: Page,
    who: { user: { username: string }; password: string; secret: string },
  ): Promise<Page> {
    expect(new URL(page.location!).pathname).toBe('/login');
    const form = await browser.follow(page);
    const second = await browser.submit(
      form,
      { 'Username or email': who.user.username, Password: who.password },
      'Sign in',
    );
    expect(new URL(second.location!).pathname).toBe('/login/second-factor');
    const codePage = await browser.follow(second);
    expect(codePage.text).toContain('<label for="code">Code</label>');
    const back = await browser.submit(
      codePage,
      { Code: await totpCode(who.secret, clock) },
      'Verify',
    );
    expect(back.status).toBe(303);
    return browser.follow(back);
  }

  it('discovery lists both classes, one factor first, then their short names', async () => {
    const meta = (await (
      await fetch(`${server.url}/.well-known/openid-configuration`)
    ).json()) as Record<string, unknown>;
    expect(meta.acr_values_supported).toEqual([ACR_PASSWORD, ACR_MFA, 'pwd', 'mfa']);
  });

  it('acr_values=mfa is the mfa class: a one-factor session signs in again, and acr echoes mfa', async () => {
    const tc = await makeClient(ctx, { firstParty: true });
    const who = await withTotp();
    const silent = await who.browser.get(request(tc, { acr_values: 'mfa', prompt: 'none' }));
    expect(redirectParams(silent).get('error')).toBe('interaction_required');
    const asked = await who.browser.get(request(tc, { acr_values: 'mfa' }));
    expect(new URL(asked.location!).searchParams.get('prompt')).toBe('login');
    const tokens = await exchange(tc, await signInWithCode(who.browser, asked, who));
    expect(tokens.idToken.acr).toBe('mfa');
    expect(tokens.idToken.amr).toEqual(['pwd', 'otp', 'mfa']);
    // Asked with the URN, the same session answers with the URN.
    const urn = await exchange(tc, await who.browser.get(request(tc, { acr_values: ACR_MFA })));
    expect(urn.idToken.acr).toBe(ACR_MFA);
    // Not asked: the URN.
    expect((await exchange(tc, await who.browser.get(request(tc)))).idToken.acr).toBe(ACR_MFA);
  });

  it('acr_values=pwd met by a one-factor session echoes pwd; a class stronger than asked is its URN', async () => {
    const tc = await makeClient(ctx, { firstParty: true });
    const { user } = await makeUser(ctx);
    const browser = new Browser(server.url);
    await signInBrowser(ctx, browser, user);
    const one = await exchange(tc, await browser.get(request(tc, { acr_values: 'pwd' })));
    expect(one.idToken.acr).toBe('pwd');
    // mfa asked voluntarily of a person without a second factor: goes on, acr says what was reached.
    const unmet = await exchange(tc, await browser.get(request(tc, { acr_values: 'mfa' })));
    expect(unmet.idToken.acr).toBe(ACR_PASSWORD);
    // A two-factor session asked for pwd reached more than asked: its class's URN.
    const who = await withTotp();
    const fresh = new Browser(server.url);
    await signInWithCode(fresh, await fresh.get(request(tc)), who);
    const more = await exchange(tc, await fresh.get(request(tc, { acr_values: 'pwd' })));
    expect(more.idToken.acr).toBe(ACR_MFA);
  });

  it('claims.id_token.acr essential with value mfa: refused for a person without a second factor, met and echoed with one', async () => {
    const tc = await makeClient(ctx, { firstParty: true });
    const essential = JSON.stringify({ id_token: { acr: { essential: true, values: ['mfa'] } } });
    const { user } = await makeUser(ctx);
    const plain = new Browser(server.url);
    await signInBrowser(ctx, plain, user);
    const refused = await plain.get(request(tc, { claims: essential }));
    expect(redirectParams(refused).get('error')).toBe('unmet_authentication_requirements');
    const who = await withTotp();
    const asked = await who.browser.get(request(tc, { claims: essential }));
    const tokens = await exchange(tc, await signInWithCode(who.browser, asked, who));
    expect(tokens.idToken.acr).toBe('mfa');
  });

  it('a password and a code give an ID token with amr pwd, otp, mfa and the mfa class, and two_factor true', async () => {
    const tc = await makeClient(ctx, { firstParty: true });
    const who = await withTotp();
    const browser = new Browser(server.url);
    const done = await signInWithCode(browser, await browser.get(request(tc)), who);
    const tokens = await exchange(tc, done);
    expect(tokens.idToken.amr).toEqual(['pwd', 'otp', 'mfa']);
    expect(tokens.idToken.acr).toBe(ACR_MFA);
    const info = await fetch(`${server.url}/userinfo`, {
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    expect(((await info.json()) as Record<string, unknown>).two_factor).toBe(true);
  });

  it('a session that reached one factor signs in again, with the code, for acr_values naming mfa', async () => {
    const tc = await makeClient(ctx, { firstParty: true });
    // The browser's session is the password-only one from before the set-up.
    const who = await withTotp();
    const plain = await exchange(tc, await who.browser.get(request(tc)));
    expect(plain.idToken.acr).toBe(ACR_PASSWORD);
    expect(plain.idToken.amr).toEqual(['pwd']);

    const silent = await who.browser.get(request(tc, { acr_values: ACR_MFA, prompt: 'none' }));
    expect(redirectParams(silent).get('error')).toBe('interaction_required');
    const asked = await who.browser.get(request(tc, { acr_values: ACR_MFA }));
    expect(asked.status).toBe(303);
    const login = new URL(asked.location!);
    expect(login.searchParams.get('prompt')).toBe('login');
    const tokens = await exchange(tc, await signInWithCode(who.browser, asked, who));
    expect(tokens.idToken.acr).toBe(ACR_MFA);
    expect(tokens.idToken.amr).toEqual(['pwd', 'otp', 'mfa']);
    // Now the session reaches it: no more sign-in for the next request.
    const next = await exchange(tc, await who.browser.get(request(tc, { acr_values: ACR_MFA })));
    expect(next.idToken.acr).toBe(ACR_MFA);
  });

  it('mfa asked for voluntarily of a person without a second factor: the request goes on, acr says pwd', async () => {
    const tc = await makeClient(ctx, { firstParty: true });
    const { user, password } = await makeUser(ctx);
    // Signed in already: no pointless second password sign-in.
    const signedIn = new Browser(server.url);
    await signInBrowser(ctx, signedIn, user);
    const at = await exchange(tc, await signedIn.get(request(tc, { acr_values: ACR_MFA })));
    expect(at.idToken.acr).toBe(ACR_PASSWORD);
    // Not signed in: the password is enough to go on.
    const browser = new Browser(server.url);
    const asked = await browser.get(request(tc, { acr_values: `${ACR_MFA} ${ACR_PASSWORD}` }));
    const form = await browser.follow(asked);
    const back = await browser.submit(
      form,
      { 'Username or email': user.username, Password: password },
      'Sign in',
    );
    const tokens = await exchange(tc, await browser.follow(back));
    expect(tokens.idToken.acr).toBe(ACR_PASSWORD);
    expect(tokens.idToken.amr).toEqual(['pwd']);
  });

  it('mfa required (essential claim) of a person without a second factor is unmet_authentication_requirements', async () => {
    const tc = await makeClient(ctx, { firstParty: true });
    const essential = JSON.stringify({ id_token: { acr: { essential: true, values: [ACR_MFA] } } });
    const { user, password } = await makeUser(ctx);
    const signedIn = new Browser(server.url);
    await signInBrowser(ctx, signedIn, user);
    const refused = await signedIn.get(request(tc, { claims: essential }));
    expect(redirectParams(refused).get('error')).toBe('unmet_authentication_requirements');
    expect(redirectParams(refused).get('state')).toBe('st');
    // Not signed in: after the sign-in, which did not reach it.
    const browser = new Browser(server.url);
    const form = await browser.follow(await browser.get(request(tc, { claims: essential })));
    const back = await browser.submit(
      form,
      { 'Username or email': user.username, Password: password },
      'Sign in',
    );
    const after = await browser.follow(back);
    expect(redirectParams(after).get('error')).toBe('unmet_authentication_requirements');
  });

  it('mfa required of a person with a code: met after the second step', async () => {
    const tc = await makeClient(ctx, { firstParty: true });
    const essential = JSON.stringify({ id_token: { acr: { essential: true, values: [ACR_MFA] } } });
    const who = await withTotp();
    const asked = await who.browser.get(request(tc, { claims: essential }));
    const tokens = await exchange(tc, await signInWithCode(who.browser, asked, who));
    expect(tokens.idToken.acr).toBe(ACR_MFA);
  });

  it('max_age past: the fresh sign-in asks for the code again, and auth_time moves', async () => {
    const tc = await makeClient(ctx, { firstParty: true });
    const who = await withTotp();
    const browser = new Browser(server.url);
    const first = await exchange(
      tc,
      await signInWithCode(browser, await browser.get(request(tc)), who),
    );
    expect(first.idToken.acr).toBe(ACR_MFA);
    clock.advance(120);
    const within = await exchange(tc, await browser.get(request(tc, { max_age: '300' })));
    expect(within.idToken.auth_time).toBe(first.idToken.auth_time);
    const asked = await browser.get(request(tc, { max_age: '60' }));
    const again = await exchange(tc, await signInWithCode(browser, asked, who));
    expect(again.idToken.acr).toBe(ACR_MFA);
    expect(again.idToken.amr).toEqual(['pwd', 'otp', 'mfa']);
    expect(again.idToken.auth_time).toBe(Math.floor(clock.now() / 1000));
  });
});
