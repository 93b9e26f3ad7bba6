import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { type RunningServer, startServer } from '../helpers/app.js';
import { Browser, readForms } from '../helpers/browser.js';
import {
  authorizePath,
  makeClient,
  makeUser,
  pkce,
  REDIRECT_URI,
  redirectParams,
  signInBrowser,
} from '../helpers/oauth.js';

describe('/authorize (RFC 6749 §4.1, RFC 9207)', () => {
  let server: RunningServer;
  let ctx: AppContext;
  beforeAll(async () => {
    server = await startServer();
    ctx = server.app.tessera;
  });
  afterAll(async () => server.close());

  async function signedInBrowser() {
    const { user } = await makeUser(ctx);
    const browser = new Browser(server.url);
    await signInBrowser(ctx, browser, user);
    return { browser, user };
  }

  const base = (clientId: string, extra: Record<string, string | undefined> = {}) =>
    authorizePath({
      response_type: 'code',
      client_id: clientId,
      redirect_uri: REDIRECT_URI,
      scope: 'openid profile',
      state: 'xyz',
      ...extra,
    });

  it('shows the consent page with the client name, each scope in plain words, Allow and Deny', async () => {
    const { client } = await makeClient(ctx, { name: 'Prescription Manager' });
    const { browser } = await signedInBrowser();
    const page = await browser.get(base(client.id, { scope: 'openid profile email' }));
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(page.text).toContain('Prescription Manager');
    expect(page.text).toContain('See your e-mail address');
    expect(page.text).toContain('See your profile');
    expect(page.text).toMatch(/<button[^>]*>Allow<\/button>/);
    expect(page.text).toMatch(/<button[^>]*>Deny<\/button>/);
    expect(page.text).toContain('name="_csrf"');
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
  });

  it('Allow redirects with code, state and iss', async () => {
    const { client } = await makeClient(ctx);
    const { browser } = await signedInBrowser();
    const consent = await browser.get(base(client.id));
    const done = await browser.submit(consent, {}, 'Allow');
    expect(done.status).toBe(303);
    expect(done.location?.startsWith(`${REDIRECT_URI}?`)).toBe(true);
    const params = redirectParams(done);
    expect(params.get('code')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(params.get('state')).toBe('xyz');
    expect(params.get('iss')).toBe(server.url);
  });

  it('Deny redirects with error=access_denied, state and iss', async () => {
    const { client } = await makeClient(ctx);
    const { browser } = await signedInBrowser();
    const consent = await browser.get(base(client.id));
    const done = await browser.submit(consent, {}, 'Deny');
    const params = redirectParams(done);
    expect(params.get('error')).toBe('access_denied');
    expect(params.get('code')).toBeNull();
    expect(params.get('state')).toBe('xyz');
    expect(params.get('iss')).toBe(server.url);
  });

  it('remembers consent: the same scopes again skip the page, a new scope asks again', async () => {
    const { client } = await makeClient(ctx);
    const { browser } = await signedInBrowser();
    await browser.submit(await browser.get(base(client.id)), {}, 'Allow');
    const again = await browser.get(base(client.id));
    expect(again.status).toBe(302);
    expect(redirectParams(again).get('code')).toBeTruthy();
    const wider = await browser.get(base(client.id, { scope: 'openid profile email' }));
    expect(wider.status).toBe(200);
    expect(wider.text).toContain('See your e-mail address');
  });

  it('prompt=consent shows the page even when consent was given', async () => {
    const { client } = await makeClient(ctx);
    const { browser } = await signedInBrowser();
    await browser.submit(await browser.get(base(client.id)), {}, 'Allow');
    const page = await browser.get(base(client.id, { prompt: 'consent' }));
    expect(page.status).toBe(200);
    expect(page.text).toContain('Allow');
  });

  it('skips the consent page for a first-party client', async () => {
    const { client } = await makeClient(ctx, { firstParty: true });
    const { browser, user } = await signedInBrowser();
    const page = await browser.get(base(client.id));
    expect(page.status).toBe(302);
    expect(redirectParams(page).get('code')).toBeTruthy();
    expect(await ctx.store.grants.find(user.id, client.id)).toBeDefined();
  });

  it('accepts the request by POST as well (form-encoded)', async () => {
    const { client } = await makeClient(ctx, { firstParty: true });
    const { browser } = await signedInBrowser();
    const page = await browser.post('/authorize', {
      response_type: 'code',
      client_id: client.id,
      redirect_uri: REDIRECT_URI,
      scope: 'openid',
      state: 's1',
    });
    expect(page.status).toBe(303);
    expect(redirectParams(page).get('state')).toBe('s1');
  });

  it('allows redirect_uri to be omitted when exactly one is registered', async () => {
    const { client } = await makeClient(ctx, { firstParty: true });
    const { browser } = await signedInBrowser();
    const page = await browser.get(base(client.id, { redirect_uri: undefined }));
    expect(page.location?.startsWith(REDIRECT_URI)).toBe(true);
  });

  describe('without a session', () => {
    it('sends the person to the sign-in page with a way back to the request', async () => {
      const { client } = await makeClient(ctx);
      const browser = new Browser(server.url);
      const page = await browser.get(base(client.id));
      expect(page.status).toBe(303);
      const login = new URL(page.location!);
      expect(login.pathname).toBe('/login');
      const back = login.searchParams.get('return_to')!;
      expect(back.startsWith('/authorize?')).toBe(true);
      expect(new URLSearchParams(back.split('?')[1]).get('client_id')).toBe(client.id);
    });

    it('answers prompt=none with login_required at the redirect URI', async () => {
      const { client } = await makeClient(ctx);
      const browser = new Browser(server.url);
      const page = await browser.get(base(client.id, { prompt: 'none' }));
      const params = redirectParams(page);
      expect(params.get('error')).toBe('login_required');
      expect(params.get('state')).toBe('xyz');
      expect(params.get('iss')).toBe(server.url);
    });
  });

  describe('errors shown as a page, never redirected', () => {
    it('unknown client_id → 400 page', async () => {
      const browser = new Browser(server.url);
      const page = await browser.get(base('no-such-client'));
      expect(page.status).toBe(400);
      expect(page.location).toBeUndefined();
      expect(page.headers.get('content-type')).toContain('text/html');
      expect(page.text).toContain('unknown client_id');
    });

    it('missing client_id → 400 page', async () => {
      const page = await new Browser(server.url).get('/authorize?response_type=code');
      expect(page.status).toBe(400);
      expect(page.location).toBeUndefined();
    });

    it('a redirect_uri that does not match exactly → 400 page', async () => {
      const { client } = await makeClient(ctx);
      const browser = new Browser(server.url);
      for (const uri of [
        `${REDIRECT_URI}/extra`,
        `${REDIRECT_URI}?a=1`,
        'https://evil.example/callback',
        REDIRECT_URI.toUpperCase(),
      ]) {
        const page = await browser.get(base(client.id, { redirect_uri: uri }));
        expect(page.status).toBe(400);
        expect(page.location).toBeUndefined();
        expect(page.text).toContain('redirect_uri');
      }
    });

    it('redirect_uri omitted while several are registered → 400 page', async () => {
      const { client } = await makeClient(ctx, {
        redirectUris: [REDIRECT_URI, 'https://app.example.com/other'],
      });
      const page = await new Browser(server.url).get(base(client.id, { redirect_uri: undefined }));
      expect(page.status).toBe(400);
      expect(page.location).toBeUndefined();
    });
  });

  describe('errors redirected with error, error_description, state and iss', () => {
    async function expectRedirectError(
      extra: Record<string, string | undefined>,
      error: string,
      overrides = {},
    ) {
      const { client } = await makeClient(ctx, overrides);
      const { browser } = await signedInBrowser();
      const page = await browser.get(base(client.id, extra));
      expect(page.status).toBe(302);
      expect(page.location!.startsWith(REDIRECT_URI)).toBe(true);
      const params = redirectParams(page);
      expect(params.get('error')).toBe(error);
      expect(params.get('error_description')).toBeTruthy();
      expect(params.get('state')).toBe('xyz');
      expect(params.get('iss')).toBe(server.url);
      expect(params.get('code')).toBeNull();
      return params;
    }

    it('missing response_type → invalid_request', async () => {
      await expectRedirectError({ response_type: undefined }, 'invalid_request');
    });

    it('response_type=token (implicit) → unsupported_response_type', async () => {
      await expectRedirectError({ response_type: 'token' }, 'unsupported_response_type');
    });

    it('an unknown response_type → unsupported_response_type', async () => {
      await expectRedirectError({ response_type: 'banana' }, 'unsupported_response_type');
    });

    it('a scope the client may not ask for → invalid_scope', async () => {
      const params = await expectRedirectError(
        { scope: 'openid admin:everything' },
        'invalid_scope',
      );
      expect(params.get('error_description')).toContain('admin:everything');
    });

    it('code_challenge_method=plain → invalid_request', async () => {
      const { challenge } = pkce();
      await expectRedirectError(
        { code_challenge: challenge, code_challenge_method: 'plain' },
        'invalid_request',
      );
    });

    it('a code_challenge without a method (plain by default) → invalid_request', async () => {
      const { challenge } = pkce();
      await expectRedirectError({ code_challenge: challenge }, 'invalid_request');
    });

    it('a malformed code_challenge → invalid_request', async () => {
      await expectRedirectError(
        { code_challenge: 'short', code_challenge_method: 'S256' },
        'invalid_request',
      );
    });

    it('a public client without PKCE → invalid_request', async () => {
      const params = await expectRedirectError({}, 'invalid_request', {
        type: 'public',
        tokenEndpointAuthMethod: 'none',
      });
      expect(params.get('error_description')).toContain('PKCE');
    });

    it('a parameter sent twice → invalid_request', async () => {
      const { client } = await makeClient(ctx);
      const { browser } = await signedInBrowser();
      const page = await browser.get(`${base(client.id)}&scope=email`);
      expect(redirectParams(page).get('error')).toBe('invalid_request');
    });

    it('a request object → request_not_supported', async () => {
      await expectRedirectError({ request: 'eyJhbGciOiJub25lIn0.e30.' }, 'request_not_supported');
    });
  });

  it('requires PKCE from confidential clients when TESSERA_REQUIRE_PKCE is on', async () => {
    const strict = await startServer({ env: { TESSERA_REQUIRE_PKCE: 'true' } });
    try {
      const sctx = strict.app.tessera;
      const { client } = await makeClient(sctx);
      const { user } = await makeUser(sctx);
      const browser = new Browser(strict.url);
      await signInBrowser(sctx, browser, user);
      const page = await browser.get(base(client.id));
      expect(redirectParams(page).get('error')).toBe('invalid_request');
      const { challenge } = pkce();
      const ok = await browser.get(
        base(client.id, { code_challenge: challenge, code_challenge_method: 'S256' }),
      );
      expect(ok.status).toBe(200);
    } finally {
      await strict.close();
    }
  });

  it('a confidential client may skip PKCE by default', async () => {
    const { client } = await makeClient(ctx);
    const { browser } = await signedInBrowser();
    const page = await browser.get(base(client.id));
    expect(page.status).toBe(200);
  });

  it('refuses a consent form without a valid CSRF token', async () => {
    const { client } = await makeClient(ctx);
    const { browser } = await signedInBrowser();
    const consent = await browser.get(base(client.id));
    const forged = await browser.submit(consent, { _csrf: 'forged' }, 'Allow');
    expect(forged.status).toBe(403);
    expect(forged.location).toBeUndefined();
  });

  it('refuses a consent form replayed by another signed-in person', async () => {
    const { client } = await makeClient(ctx);
    const { browser } = await signedInBrowser();
    const consent = await browser.get(base(client.id));
    const other = await signedInBrowser();
    // With the victim's CSRF cookie and token, the form is not even read: they belong to her session.
    other.browser.cookies.set('tessera_csrf', browser.cookies.get('tessera_csrf')!);
    const copied = await other.browser.submit({ ...consent }, {}, 'Allow');
    expect(copied.status).toBe(403);
    expect(copied.location).toBeUndefined();
    // With a CSRF token of his own session, the sealed request is still not his to answer.
    other.browser.cookies.delete('tessera_csrf');
    const own = await other.browser.get('/account');
    const token = readForms(own.text, own.url).find((f) => f.fields._csrf)!.fields._csrf!;
    const form = readForms(consent.text, consent.url).find((f) => f.action.endsWith('/consent'))!;
    const replay = await other.browser.post('/consent', {
      ...form.fields,
      _csrf: token,
      decision: 'allow',
    });
    expect(replay.status).toBe(400);
    expect(replay.location).toBeUndefined();
  });

  describe('loopback redirect URIs of native apps (RFC 8252 §7.3)', () => {
    const start = async (registered: string, sent: string) => {
      const { client } = await makeClient(ctx, {
        type: 'public',
        redirectUris: [registered],
        firstParty: true,
      });
      const { browser } = await signedInBrowser();
      const { challenge } = pkce();
      return browser.get(
        base(client.id, {
          redirect_uri: sent,
          code_challenge: challenge,
          code_challenge_method: 'S256',
        }),
      );
    };

    it('match on any port, for 127.0.0.1 and [::1], and the code goes to the port sent', async () => {
      for (const [registered, sent] of [
        ['http://127.0.0.1/cb', 'http://127.0.0.1:40000/cb'],
        ['http://127.0.0.1:8080/cb', 'http://127.0.0.1:51234/cb'],
        ['http://127.0.0.1:8080/cb', 'http://127.0.0.1/cb'],
        ['http://[::1]/cb?app=1', 'http://[::1]:61000/cb?app=1'],
      ]) {
        const res = await start(registered!, sent!);
        expect(res.location?.startsWith(`${sent}`), `${registered} ← ${sent}`).toBe(true);
        expect(redirectParams(res).get('code')).toBeTruthy();
      }
    });

    it('let only the port vary, and only on loopback IP literals', async () => {
      for (const [registered, sent] of [
        ['http://127.0.0.1/cb', 'http://127.0.0.1:40000/other'],
        ['http://127.0.0.1/cb', 'http://127.0.0.1:40000/cb?x=1'],
        ['http://127.0.0.1/cb', 'http://127.0.0.2:40000/cb'],
        ['http://127.0.0.1/cb', 'https://127.0.0.1:40000/cb'],
        ['http://127.0.0.1/cb', 'http://127.0.0.1:0/cb'],
        ['http://127.0.0.1/cb', 'http://127.0.0.1:99999/cb'],
        ['http://127.0.0.1/cb', 'http://user@127.0.0.1:4000/cb'],
        ['http://localhost/cb', 'http://localhost:40000/cb'],
        ['https://app.example.com/cb', 'https://app.example.com:8443/cb'],
      ]) {
        const res = await start(registered!, sent!);
        expect(res.status, `${registered} ← ${sent}`).toBe(400);
        expect(res.location).toBeUndefined();
      }
    });
  });

  describe('state', () => {
    it('is capped like every other parameter: a huge state is refused and not echoed', async () => {
      const { client } = await makeClient(ctx);
      const { browser } = await signedInBrowser();
      const res = await browser.get(base(client.id, { state: 'x'.repeat(5000) }));
      const params = redirectParams(res);
      expect(params.get('error')).toBe('invalid_request');
      expect(params.get('state')).toBeNull();
    });

    it('sent twice is refused', async () => {
      const { client } = await makeClient(ctx);
      const { browser } = await signedInBrowser();
      const res = await browser.get(`${base(client.id)}&state=again`);
      expect(redirectParams(res).get('error')).toBe('invalid_request');
    });
  });

  describe('response_mode=form_post', () => {
    const formPost = async (redirectUri: string) => {
      const { client } = await makeClient(ctx, { redirectUris: [redirectUri], firstParty: true });
      const { browser } = await signedInBrowser();
      return browser.get(
        base(client.id, { redirect_uri: redirectUri, response_mode: 'form_post' }),
      );
    };

    it('allows the page to post to the registered redirect URI and nowhere else', async () => {
      const page = await formPost('https://app.example.com/callback?tenant=1');
      expect(page.status).toBe(200);
      const csp = page.headers.get('content-security-policy')!;
      expect(csp).toContain('form-action https://app.example.com/callback;');
    });

    it('allows a private-use scheme (a native app), which has no origin', async () => {
      const page = await formPost('com.example.app:/oauth2redirect');
      expect(page.status).toBe(200);
      expect(page.text).toContain('action="com.example.app:/oauth2redirect"');
      expect(page.headers.get('content-security-policy')).toContain(
        'form-action com.example.app:;',
      );
    });

    it('cannot be made to end the form-action directive early', async () => {
      const page = await formPost("https://app.example.com/cb;script-src'x',y");
      const csp = page.headers.get('content-security-policy')!;
      expect(csp).toContain('form-action https://app.example.com/cb%3Bscript-src%27x%27%2Cy;');
      const directives = csp.split(';').map((d) => d.trim().split(' ')[0]);
      expect(directives.filter((d) => d === 'script-src')).toHaveLength(1);
    });
  });
});
