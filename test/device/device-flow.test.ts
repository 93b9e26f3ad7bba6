import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { revokeGrant } from '../../src/domain/grants.js';
import { FrozenClock } from '../../src/lib/clock.js';
import { sha256 } from '../../src/lib/hash.js';
import { USER_CODE_ALPHABET } from '../../src/oauth/device/user-code.js';
import { type RunningServer, startServer } from '../helpers/app.js';
import { Browser } from '../helpers/browser.js';
import { TEST_ADMIN_KEY } from '../helpers/config.js';
import {
  answerDevice,
  authorizeDevice,
  DEVICE_GRANT,
  enterUserCode,
  pollToken,
} from '../helpers/device.js';
import {
  basicAuth,
  expectOAuthError,
  makeClient,
  makeUser,
  postAsClient,
  postForm,
  postJson,
  postRaw,
  refresh,
  signInBrowser,
  type TestClient,
  userinfo,
} from '../helpers/oauth.js';
import { storeFactories, type TestStore } from '../helpers/stores.js';

const ENV = {
  TESSERA_DEVICE_INTERVAL: '5',
  TESSERA_DEVICE_CODE_TTL: '600',
  TESSERA_DEVICE_USER_CODE_MAX_FAILURES: '1000',
};

for (const factory of storeFactories()) {
  describe(`device authorization grant, RFC 8628 (${factory.name})`, () => {
    let server: RunningServer;
    let ctx: AppContext;
    let db: TestStore;
    const clock = new FrozenClock();
    beforeAll(async () => {
      db = await factory.open();
      server = await startServer({ clock, store: db.store, env: ENV });
      ctx = server.app.tessera;
    });
    afterAll(async () => {
      await server.close();
      await db.cleanup();
    });

    /** A public device client (the usual: a TV or a CLI has no secret), unless overridden. */
    const deviceClient = (overrides: Parameters<typeof makeClient>[1] = {}) =>
      makeClient(ctx, {
        type: 'public',
        tokenEndpointAuthMethod: 'none',
        redirectUris: [],
        grantTypes: [DEVICE_GRANT, 'refresh_token'],
        scopes: ['openid', 'profile', 'email', 'offline_access', 'api:read'],
        name: 'Living Room TV',
        ...overrides,
      });

    /** A person signed in in a browser of their own. */
    async function person() {
      const { user } = await makeUser(ctx);
      const browser = new Browser(server.url);
      await signInBrowser(ctx, browser, user);
      return { user, browser };
    }

    /** Advances past the interval, so that the next poll is not too soon. */
    const wait = (seconds = 5) => clock.advance(seconds);

    describe('POST /device_authorization', () => {
      it('answers a device code, a user code of 8 letters shown as XXXX-XXXX, and where to type it', async () => {
        const tc = await deviceClient();
        const res = await postAsClient(server.url, '/device_authorization', tc, {
          scope: 'openid profile',
        });
        expect(res.status, res.text).toBe(200);
        expect(res.headers.get('cache-control')).toContain('no-store');
        const body = res.body;
        expect(body.device_code).toMatch(/^[A-Za-z0-9_-]{43}$/);
        expect(body.user_code).toMatch(
          new RegExp(`^[${USER_CODE_ALPHABET}]{4}-[${USER_CODE_ALPHABET}]{4}$`),
        );
        expect(body.verification_uri).toBe(`${server.url}/device`);
        expect(body.verification_uri_complete).toBe(
          `${server.url}/device?user_code=${body.user_code}`,
        );
        expect(body.expires_in).toBe(600);
        expect(body.interval).toBe(5);
      });

      it('stores the device code and the user code only as hashes', async () => {
        const tc = await deviceClient();
        const started = await authorizeDevice(server.url, tc);
        const stored = await ctx.store.deviceCodes.find(sha256(started.device_code));
        expect(stored).toBeDefined();
        expect(stored!.userCodeHash).toBe(sha256(started.user_code.replace('-', '')));
        expect(JSON.stringify(stored)).not.toContain(started.device_code);
        expect(JSON.stringify(stored)).not.toContain(started.user_code.replace('-', ''));
      });

      it('draws user codes evenly from the alphabet without look-alikes', async () => {
        const tc = await deviceClient();
        const seen = new Set<string>();
        for (let i = 0; i < 20; i++) {
          const { user_code } = await authorizeDevice(server.url, tc);
          for (const letter of user_code.replace('-', '')) seen.add(letter);
        }
        for (const letter of seen) expect(USER_CODE_ALPHABET).toContain(letter);
        expect([...seen].some((l) => 'AEIOUY01'.includes(l))).toBe(false);
      });

      it('serves a device app registered through the admin API: public, no redirect URI', async () => {
        const res = await server.app.inject({
          method: 'POST',
          url: '/admin/api/clients',
          headers: { 'x-admin-key': TEST_ADMIN_KEY },
          payload: {
            client_name: 'Registered TV',
            grant_types: [DEVICE_GRANT, 'refresh_token'],
            token_endpoint_auth_method: 'none',
            scope: 'openid profile',
          },
        });
        expect(res.statusCode, res.body).toBe(201);
        const registered = res.json();
        expect(registered.grant_types).toEqual([DEVICE_GRANT, 'refresh_token']);
        expect(registered.redirect_uris).toEqual([]);
        const client = await ctx.clients.get(registered.client_id);
        const started = await authorizeDevice(server.url, { client: client!, secret: undefined });
        const { browser } = await person();
        await answerDevice(browser, started.user_code);
        const tokens = await pollToken(
          server.url,
          { client: client!, secret: undefined },
          started.device_code,
        );
        expect(tokens.status, tokens.text).toBe(200);
      });

      it('refuses a client not allowed the device grant: unauthorized_client', async () => {
        const tc = await makeClient(ctx, { grantTypes: ['authorization_code', 'refresh_token'] });
        const res = await postAsClient(server.url, '/device_authorization', tc, {
          scope: 'openid',
        });
        expectOAuthError(res, 400, 'unauthorized_client');
        expect(res.body.error_description).toContain(DEVICE_GRANT);
      });

      it('refuses a confidential client with a wrong secret, or with no secret: invalid_client', async () => {
        const tc = await makeClient(ctx, { grantTypes: [DEVICE_GRANT] });
        const wrong = await postForm(
          server.url,
          '/device_authorization',
          { scope: 'openid' },
          { authorization: basicAuth(tc.client.id, 'not-the-secret') },
        );
        expectOAuthError(wrong, 401, 'invalid_client');
        expect(wrong.headers.get('www-authenticate')).toMatch(/^Basic/);
        const none = await postForm(server.url, '/device_authorization', {
          client_id: tc.client.id,
        });
        expectOAuthError(none, 401, 'invalid_client');
        // With its secret, it is accepted.
        const ok = await postAsClient(server.url, '/device_authorization', tc, { scope: 'openid' });
        expect(ok.status, ok.text).toBe(200);
      });

      it('refuses an unknown client and a request with no client at all: invalid_client', async () => {
        const unknown = await postForm(server.url, '/device_authorization', {
          client_id: 'no-such-client',
        });
        expectOAuthError(unknown, 401, 'invalid_client');
        const anonymous = await postForm(server.url, '/device_authorization', { scope: 'openid' });
        expectOAuthError(anonymous, 401, 'invalid_client');
      });

      it('refuses a scope the client may not ask for, and a malformed one: invalid_scope', async () => {
        const tc = await deviceClient();
        const refused = await postAsClient(server.url, '/device_authorization', tc, {
          scope: 'openid admin:everything',
        });
        expectOAuthError(refused, 400, 'invalid_scope');
        expect(refused.body.error_description).toContain('admin:everything');
        const malformed = await postAsClient(server.url, '/device_authorization', tc, {
          scope: 'openid "quoted"',
        });
        expectOAuthError(malformed, 400, 'invalid_scope');
      });

      it('refuses malformed bodies: repeated parameters, a JSON array, unsupported parameters', async () => {
        const tc = await deviceClient();
        const repeated = await postRaw(
          server.url,
          '/device_authorization',
          `client_id=${tc.client.id}&scope=openid&scope=profile`,
          'application/x-www-form-urlencoded',
        );
        expectOAuthError(repeated, 400, 'invalid_request');
        expect(repeated.body.error_description).toContain('scope');
        const notForm = await postRaw(server.url, '/device_authorization', '<xml/>', 'text/xml');
        expect(notForm.status).toBe(415);
        const array = await postJson(server.url, '/device_authorization', [tc.client.id]);
        expect(array.status).toBe(400);
        expect(array.body.error).toBe('invalid_request');
        const redirect = await postAsClient(server.url, '/device_authorization', tc, {
          redirect_uri: 'https://evil.example/cb',
        });
        expectOAuthError(redirect, 400, 'invalid_request');
        expect(redirect.body.error_description).toContain('redirect_uri');
      });
    });

    describe('polling /token', () => {
      it('answers authorization_pending until the person allows, then the tokens of the code flow', async () => {
        const tc = await deviceClient();
        const started = await authorizeDevice(
          server.url,
          tc,
          'openid profile email offline_access',
        );
        expectOAuthError(
          await pollToken(server.url, tc, started.device_code),
          400,
          'authorization_pending',
        );

        const { user, browser } = await person();
        const done = await answerDevice(browser, started.user_code, 'Allow');
        expect(done.status).toBe(200);
        expect(done.text).toContain('Device connected');
        expect(done.text).toContain('Living Room TV');

        wait();
        const res = await pollToken(server.url, tc, started.device_code);
        expect(res.status, res.text).toBe(200);
        expect(res.body.token_type).toBe('Bearer');
        expect(res.body.scope).toBe('openid profile email offline_access');
        expect(typeof res.body.refresh_token).toBe('string');
        const access = decodeJwt(res.body.access_token as string);
        expect(access.sub).toBe(user.id);
        expect(access.client_id).toBe(tc.client.id);
        const id = decodeJwt(res.body.id_token as string);
        expect(id.sub).toBe(user.id);
        expect(id.aud).toBe(tc.client.id);
        expect(id.iss).toBe(server.url);
        expect(typeof id.auth_time).toBe('number');

        const info = await userinfo(server.url, res.body.access_token as string);
        expect(info.status).toBe(200);
        expect(info.body.email).toBe(user.email);
        // The refresh token works as any other, and the grant is the person's to see and revoke.
        const refreshed = await refresh(server.url, tc, res.body.refresh_token as string);
        expect(refreshed.status, refreshed.text).toBe(200);
        const grant = await ctx.store.grants.find(user.id, tc.client.id);
        expect(grant?.scopes.sort()).toEqual(['email', 'offline_access', 'openid', 'profile']);
        // "Revoke access" under Connected apps reaches the device's tokens too.
        await revokeGrant(ctx, grant!, { by: 'self' });
        const afterRevoke = await refresh(server.url, tc, refreshed.body.refresh_token as string);
        expectOAuthError(afterRevoke, 400, 'invalid_grant');
      });

      it('gives no refresh token to a client without the refresh_token grant, and no ID token without openid', async () => {
        const tc = await deviceClient({ grantTypes: [DEVICE_GRANT] });
        const started = await authorizeDevice(server.url, tc, 'api:read');
        const { browser } = await person();
        await answerDevice(browser, started.user_code);
        const res = await pollToken(server.url, tc, started.device_code);
        expect(res.status, res.text).toBe(200);
        expect(res.body.refresh_token).toBeUndefined();
        expect(res.body.id_token).toBeUndefined();
        expect(res.body.scope).toBe('api:read');
      });

      it('works once: a second redemption is invalid_grant', async () => {
        const tc = await deviceClient();
        const started = await authorizeDevice(server.url, tc);
        const { browser } = await person();
        await answerDevice(browser, started.user_code);
        const first = await pollToken(server.url, tc, started.device_code);
        expect(first.status, first.text).toBe(200);
        wait();
        const second = await pollToken(server.url, tc, started.device_code);
        expectOAuthError(second, 400, 'invalid_grant');
        expect(second.body.error_description).toContain('already been used');
      });

      it('of concurrent polls of an approved code, exactly one gets tokens', async () => {
        const tc = await deviceClient();
        const started = await authorizeDevice(server.url, tc);
        const { browser } = await person();
        await answerDevice(browser, started.user_code);
        const answers = await Promise.all(
          Array.from({ length: 8 }, () => pollToken(server.url, tc, started.device_code)),
        );
        expect(answers.filter((a) => a.status === 200)).toHaveLength(1);
        for (const a of answers.filter((x) => x.status !== 200)) {
          expect(['slow_down', 'invalid_grant']).toContain(a.body.error);
        }
      });

      it('answers access_denied (400) when the person denies', async () => {
        const tc = await deviceClient();
        const started = await authorizeDevice(server.url, tc);
        const { user, browser } = await person();
        const done = await answerDevice(browser, started.user_code, 'Deny');
        expect(done.status).toBe(200);
        expect(done.text).toContain('Access was denied');
        const res = await pollToken(server.url, tc, started.device_code);
        expectOAuthError(res, 400, 'access_denied');
        expect(await ctx.store.grants.find(user.id, tc.client.id)).toBeUndefined();
      });

      it('answers expired_token once the code has expired, answered or not', async () => {
        const tc = await deviceClient();
        const started = await authorizeDevice(server.url, tc);
        clock.advance(601);
        expectOAuthError(
          await pollToken(server.url, tc, started.device_code),
          400,
          'expired_token',
        );
        // The person can no longer answer it either.
        const { browser } = await person();
        const page = await enterUserCode(browser, started.user_code);
        expect(page.status).toBe(400);
        expect(page.text).toContain('That code is not valid or has expired');
      });

      it('answers slow_down to a poll sooner than the interval, which then grows by 5 seconds for good', async () => {
        const tc = await deviceClient();
        const started = await authorizeDevice(server.url, tc);
        expectOAuthError(
          await pollToken(server.url, tc, started.device_code),
          400,
          'authorization_pending',
        );
        clock.advance(2);
        const fast = await pollToken(server.url, tc, started.device_code);
        expectOAuthError(fast, 400, 'slow_down');
        expect(fast.body.error_description).toContain('10 seconds');
        // 5 seconds was the interval; it is 10 now, so 5 more is too soon again (and 15 then).
        clock.advance(5);
        expectOAuthError(await pollToken(server.url, tc, started.device_code), 400, 'slow_down');
        clock.advance(15);
        expectOAuthError(
          await pollToken(server.url, tc, started.device_code),
          400,
          'authorization_pending',
        );
        // It stays 15: 14 seconds is still too soon.
        const stored = await ctx.store.deviceCodes.find(sha256(started.device_code));
        expect(stored!.interval).toBe(15);
        clock.advance(14);
        expectOAuthError(await pollToken(server.url, tc, started.device_code), 400, 'slow_down');
      });

      it("refuses another client's device code, without spending or revealing it", async () => {
        const owner = await deviceClient();
        const thief = await deviceClient();
        const started = await authorizeDevice(server.url, owner);
        const { browser } = await person();
        await answerDevice(browser, started.user_code);
        const stolen = await pollToken(server.url, thief, started.device_code);
        expectOAuthError(stolen, 400, 'invalid_grant');
        expect(stolen.body.error_description).toContain('another client');
        const own = await pollToken(server.url, owner, started.device_code);
        expect(own.status, own.text).toBe(200);
      });

      it('refuses an unknown, an over-long and a missing device code', async () => {
        const tc = await deviceClient();
        expectOAuthError(
          await pollToken(server.url, tc, 'not-a-device-code'),
          400,
          'invalid_grant',
        );
        expectOAuthError(await pollToken(server.url, tc, 'x'.repeat(4000)), 400, 'invalid_grant');
        const missing = await postAsClient(server.url, '/token', tc, { grant_type: DEVICE_GRANT });
        expectOAuthError(missing, 400, 'invalid_request');
        expect(missing.body.error_description).toContain('device_code');
      });

      it('refuses the grant to a client not allowed it: unauthorized_client', async () => {
        const allowed = await deviceClient();
        const started = await authorizeDevice(server.url, allowed);
        const other = await makeClient(ctx, { grantTypes: ['authorization_code'] });
        const res = await pollToken(server.url, other, started.device_code);
        expectOAuthError(res, 400, 'unauthorized_client');
      });

      it('refuses a confidential client with a wrong secret: invalid_client', async () => {
        const tc = await makeClient(ctx, { grantTypes: [DEVICE_GRANT] });
        const started = await authorizeDevice(server.url, tc);
        const res = await postForm(
          server.url,
          '/token',
          { grant_type: DEVICE_GRANT, device_code: started.device_code },
          { authorization: basicAuth(tc.client.id, 'wrong') },
        );
        expectOAuthError(res, 401, 'invalid_client');
      });

      it('gives nothing once the person has revoked the access before the device polled', async () => {
        const tc = await deviceClient();
        const started = await authorizeDevice(server.url, tc);
        const { user, browser } = await person();
        await answerDevice(browser, started.user_code);
        const grant = await ctx.store.grants.find(user.id, tc.client.id);
        await ctx.store.grants.revoke(grant!.id, Math.floor(clock.now() / 1000));
        expectOAuthError(
          await pollToken(server.url, tc, started.device_code),
          400,
          'invalid_grant',
        );
      });
    });

    describe('the /device pages', () => {
      it('pre-fills the code from verification_uri_complete but waits for Continue', async () => {
        const tc = await deviceClient();
        const started = await authorizeDevice(server.url, tc);
        const { browser } = await person();
        const page = await browser.get(
          new URL(started.verification_uri_complete).pathname +
            new URL(started.verification_uri_complete).search,
        );
        expect(page.status).toBe(200);
        expect(page.text).toContain(`value="${started.user_code}"`);
        expect(page.text).toContain('>Continue</button>');
        // Nothing was answered by opening the link.
        expectOAuthError(
          await pollToken(server.url, tc, started.device_code),
          400,
          'authorization_pending',
        );
      });

      it('accepts the code in lower case, with spaces or without its dash', async () => {
        const tc = await deviceClient();
        const started = await authorizeDevice(server.url, tc);
        const { browser } = await person();
        const loose = ` ${started.user_code.toLowerCase().replace('-', ' ')} `;
        const page = await enterUserCode(browser, loose);
        expect(page.status, page.text.slice(0, 300)).toBe(303);
        expect(page.location).toContain('/device/confirm?ticket=');
      });

      it('asks even a first-party app, names it, and says a device is asking', async () => {
        const tc = await deviceClient({ firstParty: true, name: 'Own CLI' });
        const started = await authorizeDevice(server.url, tc, 'openid email');
        const { browser } = await person();
        const consent = await browser.follow(await enterUserCode(browser, started.user_code));
        expect(consent.status).toBe(200);
        expect(consent.text).toContain('A device is asking to use your account');
        expect(consent.text).toContain('Own CLI');
        expect(consent.text).toContain('See your e-mail address');
        expect(consent.text).toContain('>Allow</button>');
        expect(consent.text).toContain('>Deny</button>');
      });

      it('sends a signed-out person to sign in, and back to the consent page', async () => {
        const tc = await deviceClient();
        const started = await authorizeDevice(server.url, tc);
        const { user, password } = await makeUser(ctx);
        const browser = new Browser(server.url);
        const checked = await enterUserCode(browser, started.user_code);
        expect(checked.status).toBe(303);
        const toLogin = await browser.get(checked.location!);
        expect(toLogin.status).toBe(303);
        expect(toLogin.location).toContain('/login?return_to=');
        const login = await browser.follow(toLogin);
        const signedIn = await browser.submit(
          login,
          { 'Username or email': user.username, Password: password },
          'Sign in',
        );
        expect(signedIn.status).toBe(303);
        const consent = await browser.follow(signedIn);
        expect(consent.text).toContain('A device is asking to use your account');
        const done = await browser.submit(consent, {}, 'Allow');
        expect(done.text).toContain('Device connected');
        const res = await pollToken(server.url, tc, started.device_code);
        expect(res.status, res.text).toBe(200);
      });

      it('shows no consent page for a checked code opened in another browser (a phishing link)', async () => {
        const tc = await deviceClient();
        const started = await authorizeDevice(server.url, tc);
        // The attacker types their own device's code, and sends the page they get to a victim.
        const attacker = await person();
        const checked = await enterUserCode(attacker.browser, started.user_code);
        expect(checked.status).toBe(303);
        const victim = await person();
        const page = await victim.browser.get(checked.location!);
        expect(page.status).toBe(400);
        expect(page.text).toContain('Type the code shown on your device here');
        expect(page.text).not.toContain('A device is asking');
        expectOAuthError(
          await pollToken(server.url, tc, started.device_code),
          400,
          'authorization_pending',
        );
      });

      it('says a wrong code is not valid without telling anything about other codes', async () => {
        const { browser } = await person();
        const pages = [];
        for (const typed of ['BCDF-GHJK', 'AAAA-AAAA', 'short']) {
          pages.push(await enterUserCode(browser, typed));
        }
        expect(pages.map((p) => p.status)).toEqual([400, 400, 400]);
        for (const refused of pages) {
          expect(refused.text).toContain('That code is not valid or has expired');
        }
      });

      it('refuses a code answered already, and a consent form posted twice', async () => {
        const tc = await deviceClient();
        const started = await authorizeDevice(server.url, tc);
        const { browser } = await person();
        const consent = await browser.follow(await enterUserCode(browser, started.user_code));
        const done = await browser.submit(consent, {}, 'Allow');
        expect(done.text).toContain('Device connected');
        const again = await browser.submit(consent, {}, 'Deny');
        expect(again.status).toBe(400);
        const retyped = await enterUserCode(browser, started.user_code);
        expect(retyped.status).toBe(400);
        expect(retyped.text).toContain('That code is not valid or has expired');
        // Denying afterwards changed nothing.
        expect((await pollToken(server.url, tc, started.device_code)).status).toBe(200);
      });

      it('refuses a consent answer without the CSRF token, or from another session', async () => {
        const tc = await deviceClient();
        const started = await authorizeDevice(server.url, tc);
        const { browser } = await person();
        const consent = await browser.follow(await enterUserCode(browser, started.user_code));
        const interaction = /name="interaction" value="([^"]+)"/.exec(consent.text)![1]!;
        const noCsrf = await browser.post('/device/confirm', { interaction, decision: 'allow' });
        expect(noCsrf.status).toBe(403);
        const other = await person();
        const otherPage = await other.browser.get('/device');
        const csrf = /name="_csrf" value="([^"]+)"/.exec(otherPage.text)![1]!;
        const foreign = await other.browser.post('/device/confirm', {
          _csrf: csrf,
          interaction,
          decision: 'allow',
        });
        expect(foreign.status).toBe(400);
        expectOAuthError(
          await pollToken(server.url, tc, started.device_code),
          400,
          'authorization_pending',
        );
      });
    });
  });
}

describe('user code guessing (RFC 8628 §5.1)', () => {
  let server: RunningServer;
  let ctx: AppContext;
  beforeAll(async () => {
    server = await startServer({ env: { TESSERA_DEVICE_USER_CODE_MAX_FAILURES: '3' } });
    ctx = server.app.tessera;
  });
  afterAll(async () => server.close());

  const deviceClient = () =>
    makeClient(ctx, {
      type: 'public',
      tokenEndpointAuthMethod: 'none',
      redirectUris: [],
      grantTypes: [DEVICE_GRANT],
    });
  async function person() {
    const { user } = await makeUser(ctx);
    const browser = new Browser(server.url);
    await signInBrowser(ctx, browser, user);
    return { user, browser };
  }

  it('throttles user code guessing per address with a 429 page, even for a right code', async () => {
    const tc = await deviceClient();
    const started = await authorizeDevice(server.url, tc);
    const { browser } = await person();
    let last = await enterUserCode(browser, 'ZZZZ-ZZZZ');
    for (let i = 0; i < 6 && last.status !== 429; i++) {
      last = await enterUserCode(browser, 'ZZZZ-ZZZZ');
    }
    expect(last.status).toBe(429);
    expect(last.text).toContain('Too many codes tried');
    expect(Number(last.headers.get('retry-after'))).toBeGreaterThan(0);
    const right = await enterUserCode(browser, started.user_code);
    expect(right.status).toBe(429);
  });
});

describe('failed client authentications at /device_authorization', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({
      env: { TESSERA_CLIENT_IP_MAX_FAILURES: '3', TESSERA_CLIENT_BLOCK_SECONDS: '60' },
    });
  });
  afterAll(async () => server.close());

  it('are counted with those at /token: past the limit the address is refused with 429', async () => {
    const tc = await makeClient(server.app.tessera, { grantTypes: [DEVICE_GRANT] });
    const wrong = () =>
      postForm(
        server.url,
        '/device_authorization',
        { scope: 'openid' },
        { authorization: basicAuth(tc.client.id, 'guess') },
      );
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await wrong()).status);
    expect(statuses.slice(0, 2)).toEqual([401, 401]);
    expect(statuses.at(-1)).toBe(429);
    const right = await postAsClient(server.url, '/device_authorization', tc, { scope: 'openid' });
    expect(right.status).toBe(429);
    expect(Number(right.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});

describe('device flow switched off (TESSERA_DEVICE_FLOW=off)', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({ env: { TESSERA_DEVICE_FLOW: 'off' } });
  });
  afterAll(async () => server.close());

  it('has no endpoint, no pages, no grant, and discovery says nothing of them', async () => {
    const tc: TestClient = await makeClient(server.app.tessera, {
      type: 'public',
      tokenEndpointAuthMethod: 'none',
      grantTypes: [DEVICE_GRANT],
    });
    const res = await postAsClient(server.url, '/device_authorization', tc, {});
    expect(res.status).toBe(404);
    expect((await fetch(new URL('/device', server.url))).status).toBe(404);
    const token = await pollToken(server.url, tc, 'anything');
    expectOAuthError(token, 400, 'unsupported_grant_type');
    const meta = (await (
      await fetch(new URL('/.well-known/openid-configuration', server.url))
    ).json()) as Record<string, unknown>;
    expect(meta.device_authorization_endpoint).toBeUndefined();
    expect(meta.grant_types_supported).not.toContain(DEVICE_GRANT);
  });

  it('is advertised when on', async () => {
    const on = await startServer();
    try {
      const meta = (await (
        await fetch(new URL('/.well-known/openid-configuration', on.url))
      ).json()) as Record<string, unknown>;
      expect(meta.device_authorization_endpoint).toBe(`${on.url}/device_authorization`);
      expect(meta.grant_types_supported).toContain(DEVICE_GRANT);
    } finally {
      await on.close();
    }
  });
});
