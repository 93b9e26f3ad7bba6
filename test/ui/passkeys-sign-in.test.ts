import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { acrForMethods } from '../../src/domain/acr.js';
import { FrozenClock } from '../../src/lib/clock.js';
import { type RunningServer, startServer } from '../helpers/app.js';
import { Browser } from '../helpers/browser.js';
import {
  authorizePath,
  makeClient,
  pkce,
  postAsClient,
  redirectParams,
  type TestClient,
} from '../helpers/oauth.js';
import { csrfOf, type Json, passkeyFlows, postJson } from '../helpers/passkey-flows.js';

describe('signing in with a passkey, over HTTP with a software authenticator', () => {
  const clock = new FrozenClock();
  let server: RunningServer;
  let ctx: AppContext;
  let tc: TestClient;
  beforeAll(async () => {
    server = await startServer({ clock });
    ctx = server.app.tessera;
    tc = await makeClient(ctx);
  });
  afterAll(async () => server?.close());
  const { authenticator, signedIn, register, personWithPasskey, atLogin, passkeySignIn } =
    passkeyFlows(() => ({ server, ctx }));

  it('signs in with a synced passkey alone: a code flow gives amr swk and mfa, and acr as they rank', async () => {
    const device = authenticator({ synced: true });
    const { user } = await personWithPasskey(device);
    const { verifier, challenge } = pkce();
    const authorize = authorizePath({
      response_type: 'code',
      client_id: tc.client.id,
      redirect_uri: tc.client.redirectUris[0],
      scope: 'openid',
      state: 'st',
      nonce: 'n1',
      code_challenge: challenge,
      code_challenge_method: 'S256',
    });
    const browser = new Browser(server.url);
    const toLogin = await browser.get(authorize);
    const login = await browser.follow(toLogin);
    expect(login.text).toContain('autocomplete="username webauthn"');
    expect(login.text).toContain('Use a passkey');
    expect(login.text).toContain('/assets/passkeys.js');
    const returnTo = /name="return_to" value="([^"]+)"/
      .exec(login.text)?.[1]
      ?.replace(/&amp;/g, '&');
    const answer = await passkeySignIn(browser, csrfOf(login), device, {}, { return_to: returnTo });
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect(answer.body.redirect).toBe(returnTo);

    let page = await browser.get(String(answer.body.redirect));
    if (page.status === 200 && page.text.includes('Allow'))
      page = await browser.submit(page, {}, 'Allow');
    const code = redirectParams(page).get('code')!;
    const tokens = await postAsClient(server.url, '/token', tc, {
      grant_type: 'authorization_code',
      code,
      redirect_uri: tc.client.redirectUris[0]!,
      code_verifier: verifier,
    });
    expect(tokens.status).toBe(200);
    const claims = decodeJwt(tokens.body.id_token as string);
    expect(claims.sub).toBeDefined();
    expect(claims.amr).toEqual(['swk', 'mfa']);
    expect(claims.acr ?? null).toBe(acrForMethods(['swk', 'mfa']));
    const [passkey] = await ctx.store.passkeys.listForUser(user.id);
    expect(passkey?.lastUsedAt).toBe(Math.floor(clock.now() / 1000));
    expect(passkey?.counter).toBe(2);
  });

  it('gives amr hwk for a passkey bound to its device, and refuses one whose person was not verified', async () => {
    const device = authenticator();
    const { user } = await personWithPasskey(device);
    const { browser, csrf } = await atLogin();
    const unverified = await passkeySignIn(browser, csrf, device, { userVerified: false });
    expect(unverified.status).toBe(400);
    expect(unverified.body.error).toBe('invalid_passkey');
    const answer = await passkeySignIn(browser, csrf, device);
    expect(answer.status).toBe(200);
    expect(answer.body.redirect).toBe('/account');
    expect((await browser.get('/account')).status).toBe(200);
    const sessions = await ctx.store.sessions.listActiveForUser(
      user.id,
      Math.floor(clock.now() / 1000),
    );
    expect(sessions.at(-1)?.amr).toEqual(['hwk', 'mfa']);
  });

  it('uses a passkey as the second factor after the password: amr pwd, hwk and mfa', async () => {
    const device = authenticator();
    const { user, password } = await personWithPasskey(device);
    const { browser, csrf, page } = await atLogin('/login?return_to=/account');
    const first = await browser.submit(
      page,
      { 'Username or email': user.username, Password: password },
      'Sign in',
    );
    expect(first.status).toBe(303);
    expect(first.location).toBe(`${server.url}/login/second-factor`);
    // Not signed in yet.
    expect((await browser.get('/account')).status).toBe(303);

    const options = await postJson(browser, '/login/second-factor/passkey/options', {
      _csrf: csrf,
    });
    expect(options.status).toBe(200);
    expect((options.body.allowCredentials as Json[]).map((c) => c.id)).toEqual([
      (await ctx.store.passkeys.listForUser(user.id))[0]!.id,
    ]);
    const credential = device.get(options.body as never, { userVerified: false });
    const done = await postJson(browser, '/login/second-factor/passkey', {
      _csrf: csrf,
      credential,
    });
    expect(done.status, JSON.stringify(done.body)).toBe(200);
    expect(done.body.redirect).toBe('/account');
    expect((await browser.get('/account')).status).toBe(200);
    const sessions = await ctx.store.sessions.listActiveForUser(
      user.id,
      Math.floor(clock.now() / 1000),
    );
    expect(sessions.at(-1)?.amr).toEqual(['pwd', 'hwk', 'mfa']);
  });

  it('refuses another person’s passkey, at sign-in (user handle) and as the second factor', async () => {
    const mine = authenticator();
    const { user, password } = await personWithPasskey(mine);
    const theirs = authenticator();
    const other = await personWithPasskey(theirs);

    // A passkey that claims another person's handle.
    const login = await atLogin();
    const otherHandle = Buffer.from(other.user.id).toString('base64url');
    const forged = await passkeySignIn(login.browser, login.csrf, mine, {
      userHandle: otherHandle,
    });
    expect(forged.status).toBe(400);
    expect(forged.body.error).toBe('invalid_passkey');
    const noHandle = await passkeySignIn(login.browser, login.csrf, mine, { userHandle: null });
    expect(noHandle.status).toBe(400);

    const { browser, csrf, page } = await atLogin();
    await browser.submit(
      page,
      { 'Username or email': user.username, Password: password },
      'Sign in',
    );
    const options = await postJson(browser, '/login/second-factor/passkey/options', {
      _csrf: csrf,
    });
    const credential = theirs.get(options.body as never, {
      credentialId: theirs.credentials[0]!.id.toString('base64url'),
    });
    const refused = await postJson(browser, '/login/second-factor/passkey', {
      _csrf: csrf,
      credential,
    });
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({
      error: 'invalid_passkey',
      error_description: 'This passkey is not registered for your account.',
    });
    expect((await browser.get('/account')).status).toBe(303);

    // Nor may anyone rename or remove another person's passkey.
    const theirId = (await ctx.store.passkeys.listForUser(other.user.id))[0]!.id;
    const me = await signedIn();
    expect(
      (await me.browser.post('/account/passkeys/remove', { _csrf: me.csrf, id: theirId })).status,
    ).toBe(404);
    expect(
      (
        await me.browser.post('/account/passkeys/rename', {
          _csrf: me.csrf,
          id: theirId,
          name: 'x',
        })
      ).status,
    ).toBe(404);
    expect(await ctx.store.passkeys.findById(theirId)).toBeDefined();
  });

  it('refuses a replayed challenge, even from an authenticator without a counter', async () => {
    const device = authenticator({ noCounter: true });
    await personWithPasskey(device);
    const { browser, csrf } = await atLogin();
    const options = await postJson(browser, '/login/passkey/options', { _csrf: csrf });
    const ceremony = browser.cookies.get('tessera_webauthn')!;
    const credential = device.get(options.body as never);
    const first = await postJson(browser, '/login/passkey', { _csrf: csrf, credential });
    expect(first.status).toBe(200);
    // The attacker kept the cookie and the response.
    const replayer = new Browser(server.url);
    const page = await replayer.get('/login');
    replayer.cookies.set('tessera_webauthn', ceremony);
    const replay = await postJson(replayer, '/login/passkey', { _csrf: csrfOf(page), credential });
    expect(replay.status).toBe(400);
    expect(replay.body).toMatchObject({
      error: 'invalid_passkey',
      error_description: 'This passkey request was used already: try again.',
    });
    // Without the cookie, there is no ceremony at all.
    const bare = new Browser(server.url);
    const bareCsrf = csrfOf(await bare.get('/login'));
    expect((await postJson(bare, '/login/passkey', { _csrf: bareCsrf, credential })).status).toBe(
      400,
    );
  });

  it('refuses a response made for another origin or another relying party id', async () => {
    const device = authenticator();
    await personWithPasskey(device);
    const { browser, csrf } = await atLogin();
    const origin = await passkeySignIn(browser, csrf, device, { origin: 'https://evil.example' });
    expect(origin.status).toBe(400);
    expect(origin.body.error).toBe('invalid_passkey');
    const rpId = await passkeySignIn(browser, csrf, device, { rpId: 'evil.example' });
    expect(rpId.status).toBe(400);

    const person = await signedIn();
    const wrongOrigin = await register(person.browser, person.csrf, authenticator(), 'x', {
      origin: 'http://localhost:1',
    });
    expect(wrongOrigin.status).toBe(400);
    expect(wrongOrigin.body.error).toBe('invalid_passkey');
    const wrongChallenge = await register(person.browser, person.csrf, authenticator(), 'x', {
      challenge: 'AAAA',
    });
    expect(wrongChallenge.status).toBe(400);
    expect(await ctx.store.passkeys.listForUser(person.user.id)).toEqual([]);
  });

  it('refuses a signature counter that went backwards, or did not move', async () => {
    const device = authenticator();
    await personWithPasskey(device);
    // A new browser each time: a sign-in renews the CSRF token.
    const attempt = async (counter: number) => {
      const { browser, csrf } = await atLogin();
      return passkeySignIn(browser, csrf, device, { counter });
    };
    expect((await attempt(10)).status).toBe(200);
    const back = await attempt(9);
    expect(back.status).toBe(400);
    expect(back.body.error).toBe('invalid_passkey');
    expect((await attempt(10)).status).toBe(400);
    expect((await attempt(11)).status).toBe(200);
  });

  it('keeps a ceremony 5 minutes: its response is taken at 299 seconds and refused at 300', async () => {
    const device = authenticator();
    await personWithPasskey(device);
    for (const [wait, status] of [
      [299, 200],
      [300, 400],
    ] as const) {
      const { browser, csrf } = await atLogin();
      const options = await postJson(browser, '/login/passkey/options', { _csrf: csrf });
      const credential = device.get(options.body as never);
      clock.advance(wait);
      const answer = await postJson(browser, '/login/passkey', { _csrf: csrf, credential });
      expect(answer.status, `after ${wait} s`).toBe(status);
      if (status === 400) {
        expect(answer.body.error_description).toBe('The passkey request took too long: try again.');
      }
    }
  });
});
