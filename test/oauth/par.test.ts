import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { FrozenClock } from '../../src/lib/clock.js';
import { type RunningServer, startServer } from '../helpers/app.js';
import { Browser, type Page, readForms } from '../helpers/browser.js';
import {
  authorizeAndConsent,
  authorizePath,
  basicAuth,
  expectOAuthError,
  type HttpAnswer,
  makeClient,
  makeUser,
  pkce,
  postAsClient,
  postForm,
  postJson,
  postRaw,
  REDIRECT_URI,
  redirectParams,
  signInBrowser,
  type TestClient,
} from '../helpers/oauth.js';
import { signInThroughPage } from '../helpers/sign-in-page.js';
import { storeFactories, type TestStore } from '../helpers/stores.js';

const URN = /^urn:ietf:params:oauth:request_uri:[\w-]{43}$/;

/** The error page /authorize shows when it cannot trust a redirect URI: no redirect, the code named. */
function expectErrorPage(page: Page, error: string, words?: string): void {
  expect(page.status, page.text.slice(0, 400)).toBe(400);
  expect(page.location).toBeUndefined();
  expect(page.text).toContain(error);
  if (words) expect(page.text).toContain(words);
}

/*
 * Pushed authorization requests (RFC 9126) over real HTTP, on every database: the push checked
 * as /authorize checks a request, the request_uri started once, the person's own flow resumed
 * through sign-in and consent and finished once, and every refusal the RFCs name.
 */
for (const factory of storeFactories()) {
  describe(`${factory.name}: pushed authorization requests`, () => {
    let testStore: TestStore;
    let server: RunningServer;
    let ctx: AppContext;
    const clock = new FrozenClock();
    beforeAll(async () => {
      testStore = await factory.open();
      server = await startServer({ store: testStore.store, clock });
      ctx = server.app.tessera;
    });
    afterAll(async () => {
      await server.close();
      await testStore.cleanup();
    });

    /** POSTs to /par as `tc`, with client_id in the body as RFC 9126's examples do. */
    function push(tc: TestClient, params: Record<string, string | undefined>) {
      return postAsClient(server.url, '/par', tc, { client_id: tc.client.id, ...params });
    }

    function pushable(extra: Record<string, string | undefined> = {}) {
      const { verifier, challenge } = pkce();
      return {
        verifier,
        params: {
          response_type: 'code',
          redirect_uri: REDIRECT_URI,
          scope: 'openid profile',
          state: 'pushed-state',
          code_challenge: challenge,
          code_challenge_method: 'S256',
          ...extra,
        },
      };
    }

    async function pushed(tc: TestClient, extra: Record<string, string | undefined> = {}) {
      const { verifier, params } = pushable(extra);
      const res = await push(tc, params);
      expect(res.status, res.text).toBe(201);
      return { verifier, requestUri: String(res.body.request_uri) };
    }

    const byUri = (tc: TestClient, requestUri: string, extra: Record<string, string> = {}) =>
      authorizePath({ client_id: tc.client.id, request_uri: requestUri, ...extra });

    async function signedIn() {
      const { user, password } = await makeUser(ctx);
      const browser = new Browser(server.url);
      await signInBrowser(ctx, browser, user);
      return { user, password, browser };
    }

    function exchange(tc: TestClient, code: string, verifier: string): Promise<HttpAnswer> {
      return postAsClient(server.url, '/token', tc, {
        grant_type: 'authorization_code',
        code,
        redirect_uri: REDIRECT_URI,
        code_verifier: verifier,
      });
    }

    describe('the push', () => {
      it('answers 201 with a request_uri URN and expires_in 60, not cached', async () => {
        const tc = await makeClient(ctx);
        const res = await push(tc, pushable().params);
        expect(res.status, res.text).toBe(201);
        expect(res.body.request_uri).toMatch(URN);
        expect(res.body.expires_in).toBe(60);
        expect(res.headers.get('cache-control')).toContain('no-store');
      });

      it('takes client_secret_post and public clients (client_id only) as they registered', async () => {
        const post = await makeClient(ctx, { tokenEndpointAuthMethod: 'client_secret_post' });
        expect((await push(post, pushable().params)).status).toBe(201);
        const spa = await makeClient(ctx, { type: 'public', tokenEndpointAuthMethod: 'none' });
        expect((await push(spa, pushable().params)).status).toBe(201);
      });

      it('takes a JSON body as /token does', async () => {
        const tc = await makeClient(ctx);
        const res = await postJson(
          server.url,
          '/par',
          { client_id: tc.client.id, ...pushable().params },
          { authorization: basicAuth(tc.client.id, tc.secret!) },
        );
        expect(res.status, res.text).toBe(201);
        expect(res.body.request_uri).toMatch(URN);
      });

      it('refuses a wrong secret, a missing one, and a public client that sends one: 401 invalid_client', async () => {
        const tc = await makeClient(ctx);
        const { params } = pushable();
        const wrong = await push({ ...tc, secret: 'not-the-secret' }, params);
        expectOAuthError(wrong, 401, 'invalid_client');
        expect(wrong.headers.get('www-authenticate')).toContain('Basic');
        const none = await postForm(server.url, '/par', { client_id: tc.client.id, ...params });
        expectOAuthError(none, 401, 'invalid_client');
        const spa = await makeClient(ctx, { type: 'public', tokenEndpointAuthMethod: 'none' });
        const withSecret = await postForm(server.url, '/par', {
          client_id: spa.client.id,
          client_secret: 'anything',
          ...params,
        });
        expectOAuthError(withSecret, 401, 'invalid_client');
        expect(withSecret.body.error_description).toContain('none');
      });

      it('refuses a client_id that is not the authenticated client, and a missing one', async () => {
        const tc = await makeClient(ctx);
        const other = await makeClient(ctx);
        const { params } = pushable();
        // Basic names one client, the body another.
        expectOAuthError(
          await push(tc, { ...params, client_id: other.client.id }),
          400,
          'invalid_request',
        );
        const missing = await push(tc, { ...params, client_id: undefined });
        expectOAuthError(missing, 400, 'invalid_request');
        expect(missing.body.error_description).toContain('client_id');
      });

      it('refuses request_uri in the push (invalid_request) and request objects (request_not_supported)', async () => {
        const tc = await makeClient(ctx);
        const { params } = pushable();
        const uri = await push(tc, {
          ...params,
          request_uri: 'urn:ietf:params:oauth:request_uri:x',
        });
        expectOAuthError(uri, 400, 'invalid_request');
        expect(uri.body.error_description).toContain('request_uri');
        expectOAuthError(
          await push(tc, { ...params, request: 'eyJhbGciOiJub25lIn0.e30.' }),
          400,
          'request_not_supported',
        );
      });

      it('checks the request as /authorize would, answering in JSON', async () => {
        const tc = await makeClient(ctx, { scopes: ['openid', 'profile'] });
        const cases: [Record<string, string | undefined>, string, string][] = [
          [{ redirect_uri: 'https://evil.example/cb' }, 'invalid_request', 'redirect_uri'],
          [{ scope: 'openid email' }, 'invalid_scope', 'email'],
          [{ response_type: undefined }, 'invalid_request', 'response_type'],
          [{ response_type: 'token' }, 'unsupported_response_type', 'implicit'],
          [{ code_challenge_method: 'plain' }, 'invalid_request', 'S256'],
          [{ code_challenge: 'short' }, 'invalid_request', 'code_challenge'],
          [{ claims: '{not json' }, 'invalid_request', 'claims'],
          [{ prompt: 'none login' }, 'invalid_request', 'prompt'],
          [{ response_mode: 'carrier-pigeon' }, 'invalid_request', 'response_mode'],
        ];
        for (const [extra, error, words] of cases) {
          const res = await push(tc, pushable(extra).params);
          expectOAuthError(res, 400, error);
          expect(String(res.body.error_description), JSON.stringify(extra)).toContain(words);
        }
      });

      it('requires PKCE from a public client, and from a client that requires it', async () => {
        const spa = await makeClient(ctx, { type: 'public', tokenEndpointAuthMethod: 'none' });
        const noPkce = { code_challenge: undefined, code_challenge_method: undefined };
        const res = await push(spa, pushable(noPkce).params);
        expectOAuthError(res, 400, 'invalid_request');
        expect(res.body.error_description).toContain('code_challenge is required');
        const strict = await makeClient(ctx, { requirePkce: true });
        expectOAuthError(await push(strict, pushable(noPkce).params), 400, 'invalid_request');
        const relaxed = await makeClient(ctx);
        expect((await push(relaxed, pushable(noPkce).params)).status).toBe(201);
      });

      it('refuses a body over 64 KiB with 413, and a parameter over 4096 characters', async () => {
        const tc = await makeClient(ctx);
        const body = new URLSearchParams({ client_id: tc.client.id, ...pushable().params });
        body.set('login_hint', 'x'.repeat(70_000));
        const auth = { authorization: basicAuth(tc.client.id, tc.secret!) };
        const big = await postRaw(
          server.url,
          '/par',
          body.toString(),
          'application/x-www-form-urlencoded',
          auth,
        );
        expectOAuthError(big, 413, 'invalid_request');
        const long = await push(tc, pushable({ login_hint: 'x'.repeat(5000) }).params);
        expectOAuthError(long, 400, 'invalid_request');
      });

      it('answers any method but POST with 405 and Allow: POST', async () => {
        const res = await fetch(new URL('/par', server.url));
        expect(res.status).toBe(405);
        expect(res.headers.get('allow')).toBe('POST');
        expect(((await res.json()) as { error: string }).error).toBe('invalid_request');
      });
    });

    describe('/authorize with the request_uri', () => {
      it('runs the pushed request to a code and tokens, with the pushed scope', async () => {
        const tc = await makeClient(ctx);
        const { browser } = await signedIn();
        const { verifier, requestUri } = await pushed(tc, {
          scope: 'openid profile offline_access',
        });
        const page = await authorizeAndConsent(browser, byUri(tc, requestUri));
        const answer = redirectParams(page);
        expect(page.location!.startsWith(REDIRECT_URI)).toBe(true);
        expect(answer.get('state')).toBe('pushed-state');
        expect(answer.get('iss')).toBe(server.url);
        const tokens = await exchange(tc, answer.get('code')!, verifier);
        expect(tokens.status, tokens.text).toBe(200);
        expect(tokens.body.scope).toBe('openid profile offline_access');
        expect(tokens.body.id_token).toBeTruthy();
      });

      it('ignores query parameters that try to override the pushed ones (RFC 9126 §4)', async () => {
        const tc = await makeClient(ctx, {
          redirectUris: [REDIRECT_URI, 'https://app.example.com/other'],
        });
        const { browser } = await signedIn();
        const { requestUri } = await pushed(tc, { scope: 'openid' });
        const attacker = pkce();
        const page = await authorizeAndConsent(
          browser,
          byUri(tc, requestUri, {
            scope: 'openid profile email offline_access',
            redirect_uri: 'https://app.example.com/other',
            state: 'forged',
            code_challenge: attacker.challenge,
            code_challenge_method: 'S256',
            response_mode: 'fragment',
            prompt: 'none',
          }),
        );
        expect(page.location!.startsWith(`${REDIRECT_URI}?`)).toBe(true);
        const answer = redirectParams(page);
        expect(answer.get('state')).toBe('pushed-state');
        // The pushed PKCE challenge holds: the attacker's verifier is refused, the client's works.
        const forged = await exchange(tc, answer.get('code')!, attacker.verifier);
        expectOAuthError(forged, 400, 'invalid_grant');
        const again = await pushed(tc, { scope: 'openid' });
        const second = await authorizeAndConsent(
          browser,
          byUri(tc, again.requestUri, { scope: 'openid profile email' }),
        );
        const tokens = await exchange(tc, redirectParams(second).get('code')!, again.verifier);
        expect(tokens.status, tokens.text).toBe(200);
        expect(tokens.body.scope).toBe('openid');
      });

      it('resumes through the sign-in page without the pushed parameters in the browser, then refuses every replay', async () => {
        const tc = await makeClient(ctx);
        const { user, password } = await makeUser(ctx);
        const browser = new Browser(server.url);
        const { verifier, requestUri } = await pushed(tc, { state: 'private-state' });
        const start = await browser.get(byUri(tc, requestUri));
        expect(start.status).toBe(303);
        const returnTo = new URL(start.location!).searchParams.get('return_to')!;
        const resumed = new URLSearchParams(returnTo.split('?')[1]);
        expect([...resumed.keys()].sort()).toEqual(['client_id', 'request_uri', 'tessera_login']);
        expect(start.location).not.toContain('code_challenge');
        expect(start.location).not.toContain('private-state');
        expect(start.location).not.toContain('scope');

        const consent = await signInThroughPage(browser, start, user.username, password);
        expect(consent.status, consent.text.slice(0, 300)).toBe(200);
        expect(consent.text).not.toContain('code_challenge');
        const done = await browser.submit(consent, {}, 'Allow');
        const tokens = await exchange(tc, redirectParams(done).get('code')!, verifier);
        expect(tokens.status, tokens.text).toBe(200);

        // The request_uri, the way back from sign-in and a second browser: all spent.
        expectErrorPage(
          await browser.get(byUri(tc, requestUri)),
          'invalid_request_uri',
          'already been used',
        );
        expectErrorPage(
          await browser.get(returnTo),
          'invalid_request_uri',
          'already been answered',
        );
        const other = new Browser(server.url);
        expectErrorPage(await other.get(byUri(tc, requestUri)), 'invalid_request_uri');
      });

      it('lets a request_uri start one authorization only: a second browser is refused before the first finishes', async () => {
        const tc = await makeClient(ctx);
        const first = await signedIn();
        const second = await signedIn();
        const { verifier, requestUri } = await pushed(tc);
        const consent = await first.browser.get(byUri(tc, requestUri));
        expect(consent.status).toBe(200);
        expectErrorPage(
          await second.browser.get(byUri(tc, requestUri)),
          'invalid_request_uri',
          'already been used',
        );
        // A reload in the first browser is a second start too.
        expectErrorPage(await first.browser.get(byUri(tc, requestUri)), 'invalid_request_uri');
        // The person's own consent still finishes it.
        const done = await first.browser.submit(consent, {}, 'Allow');
        expect((await exchange(tc, redirectParams(done).get('code')!, verifier)).status).toBe(200);
      });

      it('starts once when the same request_uri arrives five times at once', async () => {
        const tc = await makeClient(ctx);
        const people = await Promise.all([1, 2, 3, 4, 5].map(() => signedIn()));
        const { requestUri } = await pushed(tc);
        const pages = await Promise.all(people.map((p) => p.browser.get(byUri(tc, requestUri))));
        expect(pages.filter((p) => p.status === 200)).toHaveLength(1);
        expect(
          pages.filter((p) => p.status === 400 && p.text.includes('invalid_request_uri')),
        ).toHaveLength(4);
      });

      it("refuses another client's request_uri without spending it", async () => {
        const owner = await makeClient(ctx);
        const thief = await makeClient(ctx);
        const { browser } = await signedIn();
        const { verifier, requestUri } = await pushed(owner);
        expectErrorPage(
          await browser.get(byUri(thief, requestUri)),
          'invalid_request_uri',
          'not pushed by this client',
        );
        const page = await authorizeAndConsent(browser, byUri(owner, requestUri));
        expect((await exchange(owner, redirectParams(page).get('code')!, verifier)).status).toBe(
          200,
        );
      });

      it('accepts a request_uri 59 seconds after the push and refuses it at 60', async () => {
        const tc = await makeClient(ctx);
        const { browser } = await signedIn();
        const early = await pushed(tc);
        const late = await pushed(tc);
        clock.advance(59);
        const page = await authorizeAndConsent(browser, byUri(tc, early.requestUri));
        expect(redirectParams(page).get('code')).toBeTruthy();
        clock.advance(1);
        expectErrorPage(
          await browser.get(byUri(tc, late.requestUri)),
          'invalid_request_uri',
          'has expired',
        );
      });

      it('refuses an unknown request_uri with a page, and answers request_uri_not_supported for one not from /par', async () => {
        const tc = await makeClient(ctx);
        const { browser } = await signedIn();
        expectErrorPage(
          await browser.get(byUri(tc, 'urn:ietf:params:oauth:request_uri:nope')),
          'invalid_request_uri',
          'unknown',
        );
        const byReference = await browser.get(
          authorizePath({
            client_id: tc.client.id,
            response_type: 'code',
            redirect_uri: REDIRECT_URI,
            scope: 'openid',
            request_uri: 'https://app.example.com/request.jwt',
          }),
        );
        expect(redirectParams(byReference).get('error')).toBe('request_uri_not_supported');
      });

      it('resumes through the account chooser (prompt=select_account) and consent', async () => {
        const tc = await makeClient(ctx);
        const { browser } = await signedIn();
        const { verifier, requestUri } = await pushed(tc, { prompt: 'select_account' });
        const chooser = await browser.get(byUri(tc, requestUri));
        const form = readForms(chooser.text, chooser.url).find((f) =>
          f.action.endsWith('/select-account'),
        )!;
        const answer = { ...form.fields, choice: 'continue' };
        const consent = await browser.post('/select-account', answer);
        expect(consent.text).toContain('Allow');
        const done = await browser.submit(consent, {}, 'Allow');
        expect((await exchange(tc, redirectParams(done).get('code')!, verifier)).status).toBe(200);
        // The chooser's form was answered, and the request finished: neither works again.
        expectErrorPage(await browser.post('/select-account', answer), 'invalid_request');
      });

      it('finishes the pushed request when the person denies it', async () => {
        const tc = await makeClient(ctx);
        const { browser } = await signedIn();
        const { requestUri } = await pushed(tc);
        const consent = await browser.get(byUri(tc, requestUri));
        const denied = await browser.submit(consent, {}, 'Deny');
        expect(redirectParams(denied).get('error')).toBe('access_denied');
        expect(redirectParams(denied).get('state')).toBe('pushed-state');
        expectErrorPage(await browser.get(byUri(tc, requestUri)), 'invalid_request_uri');
      });
    });

    describe('requiring PAR for a client', () => {
      it('refuses its plain requests with invalid_request, redirected, and takes its pushed ones', async () => {
        const tc = await makeClient(ctx, { requirePushedAuthorizationRequests: true });
        const { browser } = await signedIn();
        const { params, verifier } = pushable();
        const plain = await browser.get(authorizePath({ client_id: tc.client.id, ...params }));
        const error = redirectParams(plain);
        expect(error.get('error')).toBe('invalid_request');
        expect(error.get('error_description')).toContain('/par');
        expect(error.get('state')).toBe('pushed-state');

        const res = await push(tc, params);
        expect(res.status).toBe(201);
        const page = await authorizeAndConsent(browser, byUri(tc, String(res.body.request_uri)));
        expect((await exchange(tc, redirectParams(page).get('code')!, verifier)).status).toBe(200);
      });

      it('still lets its pushed request resume through sign-in', async () => {
        const tc = await makeClient(ctx, { requirePushedAuthorizationRequests: true });
        const { user, password } = await makeUser(ctx);
        const browser = new Browser(server.url);
        const { verifier, requestUri } = await pushed(tc);
        const start = await browser.get(byUri(tc, requestUri));
        const consent = await signInThroughPage(browser, start, user.username, password);
        const done = await browser.submit(consent, {}, 'Allow');
        expect((await exchange(tc, redirectParams(done).get('code')!, verifier)).status).toBe(200);
      });
    });

    it('purges pushed requests ten minutes after they expire', async () => {
      const tc = await makeClient(ctx);
      await pushed(tc);
      clock.advance(60 + 600 + 1);
      const counts = await ctx.store.purgeExpired(Math.floor(clock.now() / 1000));
      expect(counts.pushedRequests).toBeGreaterThanOrEqual(1);
    });
  });
}

describe('TESSERA_REQUIRE_PAR', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({ env: { TESSERA_REQUIRE_PAR: 'true' } });
  });
  afterAll(async () => server.close());

  it('is advertised, and refuses every plain authorization request with invalid_request', async () => {
    const meta = (await (
      await fetch(`${server.url}/.well-known/openid-configuration`)
    ).json()) as Record<string, unknown>;
    expect(meta.require_pushed_authorization_requests).toBe(true);
    expect(meta.pushed_authorization_request_endpoint).toBe(`${server.url}/par`);
    const ctx = server.app.tessera;
    const tc = await makeClient(ctx);
    const { user } = await makeUser(ctx);
    const browser = new Browser(server.url);
    await signInBrowser(ctx, browser, user);
    const { verifier, challenge } = pkce();
    const params = {
      response_type: 'code',
      redirect_uri: REDIRECT_URI,
      scope: 'openid',
      code_challenge: challenge,
      code_challenge_method: 'S256',
    };
    const plain = await browser.get(authorizePath({ client_id: tc.client.id, ...params }));
    expect(redirectParams(plain).get('error')).toBe('invalid_request');
    expect(redirectParams(plain).get('error_description')).toContain(
      'pushed authorization requests are required',
    );

    const res = await postAsClient(server.url, '/par', tc, { client_id: tc.client.id, ...params });
    const page = await authorizeAndConsent(
      browser,
      authorizePath({ client_id: tc.client.id, request_uri: String(res.body.request_uri) }),
    );
    const code = redirectParams(page).get('code')!;
    const tokens = await postAsClient(server.url, '/token', tc, {
      grant_type: 'authorization_code',
      code,
      redirect_uri: REDIRECT_URI,
      code_verifier: verifier,
    });
    expect(tokens.status, tokens.text).toBe(200);
  });
});

describe('guessing client secrets at /par', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({
      env: { TESSERA_CLIENT_IP_MAX_FAILURES: '5', TESSERA_CLIENT_BLOCK_SECONDS: '300' },
    });
  });
  afterAll(async () => server.close());

  it('counts failed pushes with /token: the address is refused with 429 and Retry-After', async () => {
    const tc = await makeClient(server.app.tessera);
    const form = { client_id: tc.client.id, response_type: 'code', scope: 'openid' };
    for (let i = 0; i < 5; i++) {
      const wrong = await postAsClient(server.url, '/par', { ...tc, secret: `guess${i}` }, form);
      expectOAuthError(wrong, 401, 'invalid_client');
    }
    const refused = await postAsClient(server.url, '/par', tc, form);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBeTruthy();
    expect(
      (await postAsClient(server.url, '/token', tc, { grant_type: 'client_credentials' })).status,
    ).toBe(429);
  });
});
