import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import type { AppContext } from '../../src/context.js';
import { acrForMethods } from '../../src/domain/acr.js';
import { FrozenClock } from '../../src/lib/clock.js';
import type { User } from '../../src/store/types.js';
import { type RunningServer, startServer } from '../helpers/app.js';
import { Browser, type Page } from '../helpers/browser.js';
import {
  authorizePath,
  makeClient,
  makeUser,
  pkce,
  postAsClient,
  redirectParams,
  signInBrowser,
  type TestClient,
} from '../helpers/oauth.js';
import { SoftAuthenticator, type Tamper } from '../helpers/webauthn.js';

type Json = Record<string, unknown>;

const csrfOf = (page: Page): string => {
  const token = /name="_csrf" value="([^"]+)"/.exec(page.text)?.[1];
  if (!token) throw new Error(`no CSRF token on ${page.url} (${page.status})`);
  return token;
};

async function postJson(browser: Browser, path: string, body: unknown) {
  const page = await browser.request(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  let json: Json = {};
  try {
    json = JSON.parse(page.text) as Json;
  } catch {
    // Left empty: the status says enough.
  }
  return { status: page.status, body: json, page };
}

describe('passkeys over HTTP, with a software authenticator', () => {
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

  const authenticator = (options: { synced?: boolean; noCounter?: boolean } = {}) =>
    new SoftAuthenticator({ origin: server.origin, ...options });

  /** A browser signed in as a new person, with the account page's CSRF token. */
  async function signedIn(): Promise<{
    browser: Browser;
    user: User;
    csrf: string;
    password: string;
  }> {
    const { user, password } = await makeUser(ctx);
    const browser = new Browser(server.url);
    await signInBrowser(ctx, browser, user);
    const page = await browser.get('/account');
    return { browser, user, password, csrf: csrfOf(page) };
  }

  async function register(
    browser: Browser,
    csrf: string,
    device: SoftAuthenticator,
    name: string,
    tamper: Tamper = {},
  ) {
    const options = await postJson(browser, '/account/passkeys/options', { _csrf: csrf });
    expect(options.status, JSON.stringify(options.body)).toBe(200);
    const credential = device.create(options.body as never, tamper);
    return postJson(browser, '/account/passkeys', { _csrf: csrf, name, credential });
  }

  /** A new person with one passkey on `device`. */
  async function personWithPasskey(device: SoftAuthenticator) {
    const person = await signedIn();
    const added = await register(person.browser, person.csrf, device, 'Laptop');
    expect(added.status, JSON.stringify(added.body)).toBe(200);
    return person;
  }

  /** A browser at the sign-in page (no session), with its CSRF token. */
  async function atLogin(path = '/login') {
    const browser = new Browser(server.url);
    const page = await browser.get(path);
    return { browser, csrf: csrfOf(page), page };
  }

  async function passkeySignIn(
    browser: Browser,
    csrf: string,
    device: SoftAuthenticator,
    tamper: Tamper = {},
    extra: Json = {},
  ) {
    const options = await postJson(browser, '/login/passkey/options', { _csrf: csrf });
    expect(options.status).toBe(200);
    expect(options.body.allowCredentials ?? []).toEqual([]);
    expect(options.body.userVerification).toBe('required');
    const credential = device.get(options.body as never, tamper);
    return postJson(browser, '/login/passkey', { _csrf: csrf, credential, ...extra });
  }

  it('registers two named passkeys, lists them on the account page, renames one and removes the other', async () => {
    const { browser, user, csrf } = await signedIn();
    const laptop = authenticator({ synced: true });
    const key = authenticator();
    const first = await register(browser, csrf, laptop, '  Work laptop  ');
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.body).toMatchObject({
      name: 'Work laptop',
      redirect: '/account?notice=passkey-added',
    });

    // The second ceremony excludes the passkey already registered.
    const options = await postJson(browser, '/account/passkeys/options', { _csrf: csrf });
    expect(options.body.excludeCredentials).toEqual([
      expect.objectContaining({ id: first.body.id, type: 'public-key' }),
    ]);
    expect(options.body.authenticatorSelection).toMatchObject({
      residentKey: 'required',
      userVerification: 'preferred',
    });
    expect(options.body.attestation).toBe('none');
    const credential = key.create(options.body as never);
    const second = await postJson(browser, '/account/passkeys', {
      _csrf: csrf,
      name: 'Security key',
      credential,
    });
    expect(second.status).toBe(200);

    let page = await browser.get('/account?notice=passkey-added');
    expect(page.text).toContain('Your passkey has been added.');
    expect(page.text).toMatch(
      /<strong>Work laptop<\/strong>\s*<span class="muted">· Synced · added [\d-]+ [\d:]+ UTC · never used/,
    );
    expect(page.text).toMatch(
      /<strong>Security key<\/strong>\s*<span class="muted">· This device only/,
    );

    const renamed = await browser.post('/account/passkeys/rename', {
      _csrf: csrf,
      id: String(first.body.id),
      name: 'Home laptop',
    });
    expect(renamed.status).toBe(303);
    expect(renamed.location).toBe(`${server.url}/account?notice=passkey-renamed`);
    const removed = await browser.post('/account/passkeys/remove', {
      _csrf: csrf,
      id: String(second.body.id),
    });
    expect(removed.status).toBe(303);
    page = await browser.get('/account');
    expect(page.text).toContain('Home laptop');
    expect(page.text).not.toContain('Security key');
    expect((await ctx.store.passkeys.listForUser(user.id)).map((p) => p.name)).toEqual([
      'Home laptop',
    ]);

    const events = await ctx.store.audit.list({ limit: 20, userId: user.id });
    const security = events.filter((e) => e.type.startsWith('security.passkey'));
    expect(security.map((e) => [e.type, e.details?.subject]).reverse()).toEqual([
      ['security.passkey_added', 'Work laptop'],
      ['security.passkey_added', 'Security key'],
      ['security.passkey_removed', 'Security key'],
    ]);
  });

  it('takes names of 1 to 64 characters, and refuses a 65th, an empty one or a control character', async () => {
    const { browser, csrf } = await signedIn();
    const device = authenticator();
    const long = await register(browser, csrf, device, 'x'.repeat(65));
    expect(long.status).toBe(400);
    expect(long.body).toMatchObject({ error: 'invalid_request', field: 'name' });
    expect((await register(browser, csrf, authenticator(), '')).body.field).toBe('name');
    expect((await register(browser, csrf, authenticator(), 'a\u0007b')).body.field).toBe('name');
    const edge = await register(browser, csrf, authenticator(), 'é'.repeat(64));
    expect(edge.status, JSON.stringify(edge.body)).toBe(200);

    const id = String(edge.body.id);
    const tooLong = await browser.post('/account/passkeys/rename', {
      _csrf: csrf,
      id,
      name: 'y'.repeat(65),
    });
    expect(tooLong.status).toBe(400);
    expect(tooLong.text).toContain('at most 64 characters');
  });

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

  it('answers malformed requests with 400 invalid_request or 403, never a 500', async () => {
    const { browser, csrf } = await signedIn();
    const login = await atLogin();
    const bodies: [string, unknown][] = [
      ['not json', '{"_csrf": '],
      ['no credential', { _csrf: login.csrf }],
      ['credential a string', { _csrf: login.csrf, credential: 'x' }],
      ['credential an array', { _csrf: login.csrf, credential: [] }],
      [
        'id not base64url',
        {
          _csrf: login.csrf,
          credential: { id: 'a+b', rawId: 'a+b', type: 'public-key', response: {} },
        },
      ],
      [
        'rawId not the id',
        {
          _csrf: login.csrf,
          credential: { id: 'ab', rawId: 'cd', type: 'public-key', response: {} },
        },
      ],
      [
        'wrong type',
        {
          _csrf: login.csrf,
          credential: { id: 'ab', rawId: 'ab', type: 'password', response: {} },
        },
      ],
      [
        'response missing',
        { _csrf: login.csrf, credential: { id: 'ab', rawId: 'ab', type: 'public-key' } },
      ],
      [
        'signature a number',
        {
          _csrf: login.csrf,
          credential: {
            id: 'ab',
            rawId: 'ab',
            type: 'public-key',
            response: { clientDataJSON: 'ab', authenticatorData: 'ab', signature: 5 },
          },
        },
      ],
    ];
    for (const [what, body] of bodies) {
      for (const path of ['/login/passkey', '/login/second-factor/passkey']) {
        const answer = await postJson(login.browser, path, body);
        expect([400, 401], `${what} at ${path}`).toContain(answer.status);
        expect(['invalid_request', 'invalid_passkey'], `${what} at ${path}`).toContain(
          answer.body.error,
        );
      }
    }
    // Well-formed, but nonsense for the library: still a named 400.
    const nonsense = await postJson(login.browser, '/login/passkey/options', { _csrf: login.csrf });
    expect(nonsense.status).toBe(200);
    const garbage = await postJson(login.browser, '/login/passkey', {
      _csrf: login.csrf,
      credential: {
        id: 'ab',
        rawId: 'ab',
        type: 'public-key',
        response: { clientDataJSON: 'ab', authenticatorData: 'ab', signature: 'ab' },
      },
    });
    expect(garbage.status).toBe(400);
    expect(garbage.body.error).toBe('invalid_passkey');
    await postJson(browser, '/account/passkeys/options', { _csrf: csrf });
    const badAttestation = await postJson(browser, '/account/passkeys', {
      _csrf: csrf,
      name: 'x',
      credential: {
        id: 'ab',
        rawId: 'ab',
        type: 'public-key',
        response: { clientDataJSON: 'ab', attestationObject: 'ab' },
      },
    });
    expect(badAttestation.status).toBe(400);
    expect(badAttestation.body.error).toBe('invalid_passkey');
    const badTransports = await postJson(browser, '/account/passkeys', {
      _csrf: csrf,
      name: 'x',
      credential: {
        id: 'ab',
        rawId: 'ab',
        type: 'public-key',
        response: { clientDataJSON: 'ab', attestationObject: 'ab', transports: 'usb' },
      },
    });
    expect(badTransports.body).toMatchObject({
      error: 'invalid_request',
      field: 'credential.response.transports',
    });

    // Without the CSRF token: refused before anything else.
    for (const path of [
      '/login/passkey/options',
      '/login/passkey',
      '/account/passkeys/options',
      '/account/passkeys',
    ]) {
      const answer = await postJson(browser, path, {});
      expect(answer.status, path).toBe(403);
    }
  });

  it('asks for a session to add a passkey, and for a waiting sign-in to use one as the second factor', async () => {
    const { browser, csrf } = await atLogin();
    const options = await postJson(browser, '/account/passkeys/options', { _csrf: csrf });
    expect(options.status).toBe(401);
    expect(options.body.error).toBe('invalid_passkey');
    const second = await postJson(browser, '/login/second-factor/passkey/options', { _csrf: csrf });
    expect(second.status).toBe(401);
    // The form without JavaScript says what it needs.
    const person = await signedIn();
    const noScript = await person.browser.post('/account/passkeys', {
      _csrf: person.csrf,
      name: 'x',
    });
    expect(noScript.status).toBe(400);
    expect(noScript.text).toContain('Adding a passkey needs JavaScript');
  });

  it('deletes the passkeys with the account', async () => {
    const device = authenticator();
    const { browser, csrf, user, password } = await personWithPasskey(device);
    const deleted = await browser.post('/account/delete', { _csrf: csrf, password });
    expect(deleted.status).toBe(303);
    expect(await ctx.store.passkeys.listForUser(user.id)).toEqual([]);
    const login = await atLogin();
    expect((await passkeySignIn(login.browser, login.csrf, device)).status).toBe(400);
  });
});

describe('TESSERA_WEBAUTHN_RP_ID', () => {
  const parse = (issuer: string, rpId: string) =>
    parseConfig({
      TESSERA_ISSUER: issuer,
      TESSERA_WEBAUTHN_RP_ID: rpId,
      DATABASE_URL: 'sqlite::memory:',
    });

  it('may be the issuer’s host or a domain it is under', () => {
    expect(parse('https://login.example.com', 'login.example.com').webauthnRpId).toBe(
      'login.example.com',
    );
    expect(parse('https://login.example.com', 'example.com').webauthnRpId).toBe('example.com');
  });

  it('may not be another domain, a bare top-level domain, or anything but the host of an IP issuer', () => {
    expect(() => parse('https://login.example.com', 'other.com')).toThrow(/TESSERA_WEBAUTHN_RP_ID/);
    expect(() => parse('https://login.example.com', 'ample.com')).toThrow(/TESSERA_WEBAUTHN_RP_ID/);
    expect(() => parse('https://login.example.com', 'com')).toThrow(/at least two labels/);
    expect(() => parse('http://127.0.0.1:9000', '0.0.1')).toThrow(/IP address/);
  });
});
