import { createServer } from 'node:http';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { startSession } from '../../src/domain/sessions.js';
import { purgeOnce } from '../../src/jobs/purge.js';
import { FrozenClock } from '../../src/lib/clock.js';
import type { User } from '../../src/store/types.js';
import { type RunningServer, startServer } from '../helpers/app.js';
import { type BackchannelReceiver, backchannelReceiver } from '../helpers/backchannel.js';
import { Browser, readForms } from '../helpers/browser.js';
import { TEST_ADMIN_KEY } from '../helpers/config.js';
import {
  expectOAuthError,
  introspect,
  makeClient,
  makeUser,
  obtainCode,
  pkce,
  postAsClient,
  REDIRECT_URI,
  refresh,
  signInBrowser,
  type TestClient,
  type TokenSet,
  userinfo,
} from '../helpers/oauth.js';

const SESSION_TTL = 3600;

/**
 * Issue 9 points 5 and 7: a refresh token granted without offline_access belongs
 * to the session it was issued in, and every way a session ends (sign-out,
 * RP-initiated logout, signing in again, the account page, deleting the
 * person, expiry) goes through the domain's endSession: it revokes the
 * session's tokens and tells its apps (back-channel logout). With
 * offline_access the refresh token outlives the session (OpenID Connect Core §11).
 */
describe('the end of a session', () => {
  let server: RunningServer;
  let ctx: AppContext;
  let receiver: BackchannelReceiver;
  let tc: TestClient;
  const clock = new FrozenClock();
  beforeAll(async () => {
    server = await startServer({
      clock,
      env: { TESSERA_SESSION_TTL: String(SESSION_TTL), TESSERA_REFRESH_TOKEN_TTL: '86400' },
    });
    ctx = server.app.tessera;
    receiver = await backchannelReceiver();
    tc = await makeClient(ctx, { backchannelLogoutUri: receiver.url });
  });
  afterAll(async () => {
    await server.close();
    await receiver.close();
  });
  beforeEach(() => {
    receiver.received.length = 0;
  });

  interface Signed {
    user: User;
    password: string;
    browser: Browser;
    sid: string;
    tokens: TokenSet;
  }

  /** A person signed in through the sign-in page, with tokens from the code flow in that session. */
  async function signedIn(scope = 'openid profile', person?: { user: User; password: string }) {
    const { user, password } = person ?? (await makeUser(ctx));
    const browser = new Browser(server.url);
    const login = await browser.get('/login');
    const done = await browser.submit(
      login,
      { 'Username or email': user.username, Password: password },
      'Sign in',
    );
    expect(done.status, done.text).toBe(303);
    return { user, password, browser, ...(await tokensIn(browser, scope)) };
  }

  async function tokensIn(browser: Browser, scope: string) {
    const { verifier, challenge } = pkce();
    const code = await obtainCode(browser, tc.client, {
      scope,
      code_challenge: challenge,
      code_challenge_method: 'S256',
    });
    const res = await postAsClient(server.url, '/token', tc, {
      grant_type: 'authorization_code',
      code,
      redirect_uri: REDIRECT_URI,
      code_verifier: verifier,
    });
    expect(res.status, res.text).toBe(200);
    const tokens = res.body as unknown as TokenSet;
    return { tokens, sid: String(decodeJwt(tokens.id_token!).sid) };
  }

  /**
   * The session's apps heard of its end, and its tokens no longer work. `refreshToken` is the
   * family's live refresh token (the one from the code exchange unless it was rotated since).
   */
  async function expectEnded(signed: Signed, refreshToken = signed.tokens.refresh_token!) {
    // The apps are told in the background; drain() resolves once all of it is done.
    await ctx.background.drain();
    expect(receiver.received.length).toBeGreaterThanOrEqual(1);
    const { payload } = await jwtVerify(
      receiver.received.at(-1)!,
      createRemoteJWKSet(new URL(`${server.url}/jwks`)),
      { issuer: server.url, audience: tc.client.id, typ: 'logout+jwt' },
    );
    expect(payload.sid).toBe(signed.sid);
    const refused = await refresh(server.url, tc, refreshToken);
    expectOAuthError(refused, 400, 'invalid_grant');
    // Revoked (or deleted, or expired) with the session, not caught reusing a spent token.
    expect(refused.body.error_description).not.toBe('the refresh token has already been used');
    expect((await introspect(server.url, tc, signed.tokens.access_token)).body).toEqual({
      active: false,
    });
    expect((await userinfo(server.url, signed.tokens.access_token)).status).toBe(401);
  }

  /**
   * The end was recorded in the audit log by the domain, whichever door it came through: the
   * person's one session event, with who ended it and why (issue 10 point 7).
   */
  async function expectAudited(signed: Signed, type: string, details: Record<string, unknown>) {
    const events = await ctx.store.audit.list({ limit: 50, userId: signed.user.id });
    expect(events.filter((e) => e.type.startsWith('session.'))).toEqual([
      expect.objectContaining({ type, details: expect.objectContaining(details) }),
    ]);
  }

  it('a refresh token without offline_access works while its session lives', async () => {
    const signed = await signedIn();
    const refreshed = await refresh(server.url, tc, signed.tokens.refresh_token!);
    expect(refreshed.status, refreshed.text).toBe(200);
    // Its successor still belongs to the session: it carries the session's sid.
    expect(decodeJwt(String(refreshed.body.id_token)).sid).toBe(signed.sid);
    expect(decodeJwt(String(refreshed.body.access_token)).sid).toBe(signed.sid);
  });

  it('sign-out (the header button) ends it, with its refresh and access tokens', async () => {
    const signed = await signedIn();
    const account = await signed.browser.get('/account');
    const signOut = readForms(account.text, account.url).find((f) => f.action.endsWith('/logout'))!;
    expect((await signed.browser.post(signOut.action, signOut.fields)).status).toBe(303);
    await expectEnded(signed);
    const logout = { session_id: signed.sid, by: 'self', reason: 'logout' };
    await expectAudited(signed, 'session.ended', logout);
  });

  it("tokens refreshed within the session go when it ends, and so do the original's", async () => {
    const signed = await signedIn();
    const refreshed = await refresh(server.url, tc, signed.tokens.refresh_token!);
    const successor = String(refreshed.body.refresh_token);
    await signed.browser.get(`/logout?id_token_hint=${signed.tokens.id_token}`);
    await expectEnded(signed, successor);
    await expectAudited(signed, 'session.ended', { session_id: signed.sid, reason: 'logout' });
    expect((await userinfo(server.url, String(refreshed.body.access_token))).status).toBe(401);
  });

  it('RP-initiated logout ends it', async () => {
    const signed = await signedIn();
    const page = await signed.browser.get(`/logout?id_token_hint=${signed.tokens.id_token}`);
    expect(page.status).toBe(200);
    await expectEnded(signed);
    const logout = { session_id: signed.sid, by: 'self', reason: 'logout' };
    await expectAudited(signed, 'session.ended', logout);
  });

  it('another person signing in in the same browser ends the old session through endSession', async () => {
    const signed = await signedIn();
    const next = await makeUser(ctx);
    const login = await signed.browser.get('/login');
    const again = await signed.browser.submit(
      login,
      { 'Username or email': next.user.username, Password: next.password },
      'Sign in',
    );
    expect(again.status).toBe(303);
    await expectEnded(signed);
    const replaced = { session_id: signed.sid, by: 'system', reason: 'replaced' };
    await expectAudited(signed, 'session.ended', replaced);
  });

  it('the same person signing in again (step-up) renews the session: its apps keep their tokens', async () => {
    const signed = await signedIn();
    const cookie = signed.browser.cookies.get('tessera_session');
    const login = await signed.browser.get('/login?prompt=login');
    const again = await signed.browser.submit(
      login,
      { 'Username or email': signed.user.username, Password: signed.password },
      'Sign in',
    );
    expect(again.status).toBe(303);
    // A new cookie (no fixation), the same session: nothing ended, nobody told.
    expect(signed.browser.cookies.get('tessera_session')).not.toBe(cookie);
    const { tokens } = await tokensIn(signed.browser, 'openid');
    expect(decodeJwt(tokens.id_token!).sid).toBe(signed.sid);
    expect(receiver.received).toHaveLength(0);
    const refreshed = await refresh(server.url, tc, signed.tokens.refresh_token!);
    expect(refreshed.status, refreshed.text).toBe(200);
    expect((await userinfo(server.url, signed.tokens.access_token)).status).toBe(200);
    // The old cookie no longer works.
    const stale = new Browser(server.url);
    stale.cookies.set('tessera_session', cookie!);
    expect((await stale.get('/account')).status).toBe(303);
  });

  it('changing the password ends the other sessions, with their tokens, and tells their apps', async () => {
    const signed = await signedIn();
    const other = await signedIn('openid profile', {
      user: signed.user,
      password: signed.password,
    });
    const account = await other.browser.get('/account');
    const form = readForms(account.text, account.url).find((f) =>
      f.action.endsWith('/account/password'),
    )!;
    const changed = await other.browser.post(form.action, {
      ...form.fields,
      current_password: signed.password,
      new_password: 'a brand new passphrase for tessera',
    });
    expect(changed.status, changed.text).toBe(303);
    await expectEnded(signed);
    await expectAudited(signed, 'session.ended_all', {
      count: 1,
      session_ids: [signed.sid],
      by: 'self',
      reason: 'password-changed',
    });
    // The browser that changed it stays signed in, with its apps.
    expect((await refresh(server.url, tc, other.tokens.refresh_token!)).status).toBe(200);
  });

  it('"End session" on the account page, from another browser, ends it', async () => {
    const signed = await signedIn();
    const other = new Browser(server.url);
    await signInBrowser(ctx, other, signed.user);
    const account = await other.get('/account');
    const form = readForms(account.text, account.url).find(
      (f) => f.fields.session_id === signed.sid,
    )!;
    expect((await other.post(form.action, form.fields)).status).toBe(303);
    await expectEnded(signed);
    const ended = { session_id: signed.sid, by: 'self', reason: 'ended' };
    await expectAudited(signed, 'session.ended', ended);
  });

  it('"End all other sessions" ends them', async () => {
    const signed = await signedIn();
    const other = new Browser(server.url);
    await signInBrowser(ctx, other, signed.user);
    const account = await other.get('/account');
    const form = readForms(account.text, account.url).find((f) =>
      f.action.endsWith('/account/sessions/end-all'),
    )!;
    expect((await other.post(form.action, form.fields)).status).toBe(303);
    await expectEnded(signed);
    await expectAudited(signed, 'session.ended_all', {
      count: 1,
      session_ids: [signed.sid],
      by: 'self',
      reason: 'ended',
    });
  });

  it('deleting the account tells the apps', async () => {
    const signed = await signedIn();
    const account = await signed.browser.get('/account');
    const form = readForms(account.text, account.url).find((f) =>
      f.action.endsWith('/account/delete'),
    )!;
    const done = await signed.browser.post(form.action, {
      ...form.fields,
      password: signed.password,
    });
    expect(done.status).toBe(303);
    await expectEnded(signed);
    // Once: the sign-out that clears the cookie finds the session already ended.
    await expectAudited(signed, 'session.ended_all', {
      count: 1,
      by: 'self',
      reason: 'user-deleted',
    });
  });

  it('an administrator deleting the person tells the apps', async () => {
    const signed = await signedIn();
    const res = await fetch(`${server.url}/admin/api/users/${signed.user.id}`, {
      method: 'DELETE',
      headers: { 'x-admin-key': TEST_ADMIN_KEY },
    });
    expect(res.status).toBe(204);
    await expectEnded(signed);
    const deleted = { count: 1, session_ids: [signed.sid], by: 'admin', reason: 'user-deleted' };
    await expectAudited(signed, 'session.ended_all', deleted);
  });

  describe('expiry', () => {
    it('a session-bound refresh token expires with its session, even before the purge job runs', async () => {
      const signed = await signedIn();
      const refreshed = await refresh(server.url, tc, signed.tokens.refresh_token!);
      expect(refreshed.status).toBe(200);
      clock.advance(SESSION_TTL - 10);
      const late = await refresh(server.url, tc, String(refreshed.body.refresh_token));
      expect(late.status, late.text).toBe(200);
      clock.advance(10);
      expectOAuthError(
        await refresh(server.url, tc, String(late.body.refresh_token)),
        400,
        'invalid_grant',
      );
    });

    it('the purge job ends expired sessions: their apps are told and their access tokens revoked', async () => {
      const signed = await signedIn();
      clock.advance(SESSION_TTL + 1);
      const counts = await purgeOnce(ctx);
      expect(counts.sessionsEnded).toBeGreaterThanOrEqual(1);
      await expectEnded(signed);
      // No one ended it: not in the audit log.
      const events = await ctx.store.audit.list({ limit: 50, userId: signed.user.id });
      expect(events.filter((e) => e.type.startsWith('session.'))).toEqual([]);
    });
  });

  describe('with offline_access', () => {
    const OFFLINE = 'openid profile offline_access';

    it('the refresh token outlives sign-out, and so do the tokens refreshed from it', async () => {
      const signed = await signedIn(OFFLINE);
      await signed.browser.get(`/logout?id_token_hint=${signed.tokens.id_token}`);
      await ctx.background.drain();
      expect(receiver.received.length).toBe(1);
      // The session's own access token goes with it...
      expect((await userinfo(server.url, signed.tokens.access_token)).status).toBe(401);
      // ...the offline refresh token does not.
      const refreshed = await refresh(server.url, tc, signed.tokens.refresh_token!);
      expect(refreshed.status, refreshed.text).toBe(200);
      const access = String(refreshed.body.access_token);
      expect((await userinfo(server.url, access)).status).toBe(200);
      // Tokens from an offline refresh belong to no session.
      expect(decodeJwt(access).sid).toBeUndefined();
      expect(decodeJwt(String(refreshed.body.id_token)).sid).toBeUndefined();
    });

    it('the refresh token outlives the session’s expiry', async () => {
      const signed = await signedIn(OFFLINE);
      clock.advance(SESSION_TTL + 1);
      await purgeOnce(ctx);
      const refreshed = await refresh(server.url, tc, signed.tokens.refresh_token!);
      expect(refreshed.status, refreshed.text).toBe(200);
    });

    it('ending another session of the person leaves it alone', async () => {
      const offline = await signedIn(OFFLINE);
      const bound = await signedIn('openid', { user: offline.user, password: offline.password });
      await bound.browser.get(`/logout?id_token_hint=${bound.tokens.id_token}`);
      await expectEnded(bound);
      expect((await refresh(server.url, tc, offline.tokens.refresh_token!)).status).toBe(200);
      expect((await userinfo(server.url, offline.tokens.access_token)).status).toBe(200);
    });
  });

  it('a slow app does not hold up the sign-out: it is told in the background', async () => {
    // An app endpoint that takes the logout token and does not answer until told to.
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let arrived = 0;
    let heard = () => {};
    const reached = new Promise<void>((resolve) => {
      heard = resolve;
    });
    const slow = createServer((_req, res) => {
      arrived += 1;
      heard();
      void held.then(() => res.writeHead(200).end());
    });
    await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
    const port = (slow.address() as { port: number }).port;
    try {
      const slowApp = await makeClient(ctx, {
        backchannelLogoutUri: `http://127.0.0.1:${port}/bc`,
      });
      const { user } = await makeUser(ctx);
      const browser = new Browser(server.url);
      await signInBrowser(ctx, browser, user);
      await obtainCode(browser, slowApp.client);
      const account = await browser.get('/account');
      const signOut = readForms(account.text, account.url).find((f) =>
        f.action.endsWith('/logout'),
      )!;
      const done = await browser.post(signOut.action, signOut.fields);
      expect(done.status).toBe(303);
      // The sign-out answered while the app still holds its logout token unanswered.
      await reached;
      expect(arrived).toBe(1);
    } finally {
      release();
      await ctx.background.drain();
      await new Promise((resolve) => slow.close(resolve));
    }
  });

  it('the purge job ends every expired session, however many, before deleting any', async () => {
    const { user } = await makeUser(ctx);
    const expired: string[] = [];
    for (let i = 0; i < 520; i++) {
      const { session } = await startSession(ctx, { userId: user.id, amr: ['pwd'] });
      expired.push(session.id);
    }
    clock.advance(SESSION_TTL + 1);
    const counts = await purgeOnce(ctx);
    expect(counts.sessionsEnded).toBeGreaterThanOrEqual(520);
    expect(await ctx.store.sessions.listExpiredUnended(Math.floor(clock.now() / 1000), 10)).toEqual(
      [],
    );
  });
});
