import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { FrozenClock } from '../../src/lib/clock.js';
import type { Client } from '../../src/store/types.js';
import { type RunningServer, startServer } from '../helpers/app.js';
import { Browser } from '../helpers/browser.js';
import {
  authorizePath,
  makeClient,
  makeUser,
  postAsClient,
  REDIRECT_URI,
  redirectParams,
  refresh,
  signInBrowser,
  type TestClient,
} from '../helpers/oauth.js';

/**
 * `auth_time` in every ID token, refreshed ones too, with the time of the original sign-in
 * (OpenID Connect Core §2 allows it always; max_age, the client's default_max_age, the claims
 * parameter and require_auth_time ask for it, so they are met without asking), and
 * default_max_age applied when a request has no max_age.
 */
describe('auth_time, require_auth_time and default_max_age', () => {
  let server: RunningServer;
  let ctx: AppContext;
  const clock = new FrozenClock();
  beforeAll(async () => {
    server = await startServer({ clock });
    ctx = server.app.tessera;
  });
  afterAll(async () => server.close());

  const now = () => Math.floor(clock.now() / 1000);

  const request = (client: Client, extra: Record<string, string> = {}) =>
    authorizePath({
      response_type: 'code',
      client_id: client.id,
      redirect_uri: REDIRECT_URI,
      scope: 'openid offline_access',
      state: 'st',
      ...extra,
    });

  /** A first-party client, and a browser signed in at `signedInAt` (the clock's time now). */
  async function setup(overrides: Partial<Client> = {}) {
    const tc = await makeClient(ctx, { firstParty: true, ...overrides });
    const { user } = await makeUser(ctx);
    const browser = new Browser(server.url);
    await signInBrowser(ctx, browser, user);
    return { tc, browser, signedInAt: now() };
  }

  async function tokensFor(tc: TestClient, browser: Browser, extra: Record<string, string> = {}) {
    const page = await browser.get(request(tc.client, extra));
    const code = redirectParams(page).get('code');
    expect(code, page.location).toBeTruthy();
    const res = await postAsClient(server.url, '/token', tc, {
      grant_type: 'authorization_code',
      code: code!,
      redirect_uri: REDIRECT_URI,
    });
    expect(res.status, res.text).toBe(200);
    return res.body as { id_token: string; refresh_token: string };
  }

  async function refreshedIdToken(tc: TestClient, refreshToken: string) {
    const res = await refresh(server.url, tc, refreshToken);
    expect(res.status, res.text).toBe(200);
    return decodeJwt(String(res.body.id_token));
  }

  it('is in every ID token when nothing asks for it, refreshed ones too, as the original sign-in time', async () => {
    const { tc, browser, signedInAt } = await setup();
    clock.advance(30);
    const tokens = await tokensFor(tc, browser);
    expect(decodeJwt(tokens.id_token).auth_time).toBe(signedInAt);
    clock.advance(30);
    expect((await refreshedIdToken(tc, tokens.refresh_token)).auth_time).toBe(signedInAt);
  });

  it('is in every ID token of a client that registered require_auth_time, refreshed ones too', async () => {
    const { tc, browser, signedInAt } = await setup({ requireAuthTime: true });
    clock.advance(30);
    const tokens = await tokensFor(tc, browser);
    expect(decodeJwt(tokens.id_token).auth_time).toBe(signedInAt);
    clock.advance(30);
    expect((await refreshedIdToken(tc, tokens.refresh_token)).auth_time).toBe(signedInAt);
  });

  it('is in the ID token when max_age was sent, refreshed ones too', async () => {
    const { tc, browser, signedInAt } = await setup();
    clock.advance(10);
    const tokens = await tokensFor(tc, browser, { max_age: '3600' });
    expect(decodeJwt(tokens.id_token).auth_time).toBe(signedInAt);
    expect((await refreshedIdToken(tc, tokens.refresh_token)).auth_time).toBe(signedInAt);
  });

  it('is in the ID token when asked for by name, which needs no consent', async () => {
    const { tc, browser, signedInAt } = await setup();
    const tokens = await tokensFor(tc, browser, {
      claims: JSON.stringify({ id_token: { auth_time: { essential: true } } }),
    });
    expect(decodeJwt(tokens.id_token).auth_time).toBe(signedInAt);
    const { client: third } = await makeClient(ctx, { name: 'Third' });
    const consent = await browser.get(
      request(third, { claims: JSON.stringify({ id_token: { auth_time: null } }) }),
    );
    expect(consent.status).toBe(200);
    const lines = [...consent.text.matchAll(/<li>([\s\S]*?)<\/li>/g)].map((m) => m[1]);
    for (const line of lines) expect(line).not.toContain('auth_time');
  });

  it('is in the front-channel ID token of a hybrid response with max_age', async () => {
    const { tc, browser, signedInAt } = await setup({ responseTypes: ['code', 'code id_token'] });
    const page = await browser.get(
      request(tc.client, { response_type: 'code id_token', nonce: 'n1', max_age: '600' }),
    );
    const idToken = decodeJwt(redirectParams(page).get('id_token')!);
    expect(idToken.auth_time).toBe(signedInAt);
  });

  describe('default_max_age', () => {
    it('applies to a request without max_age: an older sign-in is asked again, and auth_time is in the ID token', async () => {
      const { tc, browser, signedInAt } = await setup({ defaultMaxAge: 300 });
      clock.advance(200);
      const tokens = await tokensFor(tc, browser);
      expect(decodeJwt(tokens.id_token).auth_time).toBe(signedInAt);
      expect((await refreshedIdToken(tc, tokens.refresh_token)).auth_time).toBe(signedInAt);

      clock.advance(101);
      const stale = await browser.get(request(tc.client));
      expect(stale.status).toBe(303);
      expect(new URL(stale.location!).pathname).toBe('/login');
      const silent = await browser.get(request(tc.client, { prompt: 'none' }));
      expect(redirectParams(silent).get('error')).toBe('login_required');
    });

    it('gives way to the max_age of the request', async () => {
      const { tc, browser } = await setup({ defaultMaxAge: 300 });
      clock.advance(400);
      const page = await browser.get(request(tc.client, { max_age: '3600' }));
      expect(redirectParams(page).get('code')).toBeTruthy();
      const stricter = await browser.get(request(tc.client, { max_age: '60' }));
      expect(new URL(stricter.location!).pathname).toBe('/login');
    });
  });
});
