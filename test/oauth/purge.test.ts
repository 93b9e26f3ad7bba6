import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type AppContext, nowSeconds } from '../../src/context.js';
import { startSession } from '../../src/domain/sessions.js';
import { purgeOnce, startPurgeJob } from '../../src/jobs/purge.js';
import { FrozenClock } from '../../src/lib/clock.js';
import { sha256 } from '../../src/lib/hash.js';
import { type RunningServer, startServer } from '../helpers/app.js';
import { Browser } from '../helpers/browser.js';
import { captureLog } from '../helpers/log.js';
import {
  expectOAuthError,
  introspect,
  makeClient,
  makeUser,
  obtainCode,
  obtainTokens,
  postAsClient,
  REDIRECT_URI,
  refresh,
  signInBrowser,
  type TestClient,
} from '../helpers/oauth.js';
import { storeFactories, type TestStore } from '../helpers/stores.js';

/** Short lifetimes, so that a frozen clock moves past them in small steps. */
const ENV = {
  TESSERA_ACCESS_TOKEN_TTL: '300',
  TESSERA_REFRESH_TOKEN_TTL: '1000',
  TESSERA_SESSION_TTL: '120',
};

/** A code (without PKCE) for a fresh person signed in now. */
async function freshCode(server: RunningServer, tc: TestClient): Promise<string> {
  const ctx = server.app.tessera;
  const { user } = await makeUser(ctx);
  const browser = new Browser(server.url);
  await signInBrowser(ctx, browser, user);
  return obtainCode(browser, tc.client);
}

const exchange = (server: RunningServer, tc: TestClient, code: string) =>
  postAsClient(server.url, '/token', tc, {
    grant_type: 'authorization_code',
    code,
    redirect_uri: REDIRECT_URI,
  });

for (const factory of storeFactories()) {
  describe(`purge of expired records (${factory.name})`, () => {
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

    const purge = () => purgeOnce(ctx);

    it('deletes codes ten minutes after they expired, and keeps younger and live ones', async () => {
      const tc = await makeClient(ctx);
      const old = await freshCode(server, tc);
      clock.advance(200);
      const recent = await freshCode(server, tc);
      clock.advance(500);
      const live = await freshCode(server, tc);

      // The store's purge alone: the job would first end the codes' expired sessions, and
      // ending a session drops its unused codes at once.
      const counts = await ctx.store.purgeExpired(nowSeconds(ctx));
      expect(counts.codes).toBeGreaterThanOrEqual(1);
      const now = nowSeconds(ctx);
      // Expired 640 s ago: gone. Expired 440 s ago: still there, still refused as expired.
      expect(await ctx.store.codes.consume(sha256(old), now)).toEqual({ status: 'missing' });
      expect(await ctx.store.codes.consume(sha256(recent), now)).toEqual({ status: 'expired' });
      const res = await exchange(server, tc, live);
      expect(res.status, res.text).toBe(200);
    });

    it('keeps a used code past its expiry, so that a late replay still revokes its tokens', async () => {
      const tc = await makeClient(ctx);
      const code = await freshCode(server, tc);
      const first = await exchange(server, tc, code);
      expect(first.status, first.text).toBe(200);
      clock.advance(120);
      await purge();
      expectOAuthError(await exchange(server, tc, code), 400, 'invalid_grant');
      expect((await introspect(server.url, tc, String(first.body.access_token))).body).toEqual({
        active: false,
      });
    });

    it('deletes expired access and refresh tokens, and keeps live ones', async () => {
      const tc = await makeClient(ctx);
      const { user } = await makeUser(ctx);
      // offline_access: the refresh token outlives the 120 s session (a session-bound one would not).
      const offline = { scope: 'openid profile email offline_access' };
      const old = await obtainTokens(server.url, ctx, tc, user, offline);
      clock.advance(301);
      const young = await obtainTokens(server.url, ctx, tc, user, offline);
      const jti = (token: string) => String(decodeJwt(token).jti);

      const counts = await purge();
      expect(counts.tokens).toBeGreaterThanOrEqual(1);
      expect(await ctx.store.tokens.find(jti(old.access_token))).toBeUndefined();
      expect(await ctx.store.tokens.find(jti(young.access_token))).toBeDefined();
      // The refresh token lives 1000 s: kept, and it still works.
      expect(await ctx.store.tokens.find(sha256(old.refresh_token!))).toBeDefined();
      const refreshed = await refresh(server.url, tc, old.refresh_token!);
      expect(refreshed.status, refreshed.text).toBe(200);

      clock.advance(1000);
      await purge();
      expect(await ctx.store.tokens.find(sha256(old.refresh_token!))).toBeUndefined();
      expect(await ctx.store.tokens.find(sha256(String(refreshed.body.refresh_token)))).toBe(
        undefined,
      );
      expect(await ctx.store.tokens.find(jti(young.access_token))).toBeUndefined();
    });

    it('keeps the revocation of an unexpired client_credentials JWT', async () => {
      const tc = await makeClient(ctx, {
        grantTypes: ['client_credentials'],
        scopes: ['api:read'],
      });
      const cc = await postAsClient(server.url, '/token', tc, { grant_type: 'client_credentials' });
      const token = String(cc.body.access_token);
      expect((await postAsClient(server.url, '/revoke', tc, { token })).status).toBe(200);
      clock.advance(299);
      await purge();
      expect((await introspect(server.url, tc, token)).body).toEqual({ active: false });
      clock.advance(2);
      await purge();
      expect(await ctx.store.tokens.find(String(decodeJwt(token).jti))).toBeUndefined();
      expect((await introspect(server.url, tc, token)).body).toEqual({ active: false });
    });

    it('deletes ended and expired sessions, and keeps live ones', async () => {
      const tc = await makeClient(ctx);
      const { user } = await makeUser(ctx);
      const ended = (await startSession(ctx, { userId: user.id, amr: ['pwd'] })).session;
      await ctx.store.sessions.addClient(ended.id, tc.client.id, nowSeconds(ctx));
      await ctx.store.sessions.end(ended.id, nowSeconds(ctx));
      const expired = (await startSession(ctx, { userId: user.id, amr: ['pwd'] })).session;
      clock.advance(121);
      const live = await startSession(ctx, { userId: user.id, amr: ['pwd'] });
      await ctx.store.sessions.addClient(live.session.id, tc.client.id, nowSeconds(ctx));

      const counts = await purge();
      expect(counts.sessions).toBeGreaterThanOrEqual(2);
      expect(await ctx.store.sessions.findById(ended.id)).toBeUndefined();
      expect(await ctx.store.sessions.findById(expired.id)).toBeUndefined();
      expect(await ctx.store.sessions.listClients(ended.id)).toEqual([]);
      expect(await ctx.store.sessions.findById(live.session.id)).toBeDefined();
      expect(await ctx.store.sessions.listClients(live.session.id)).toEqual([tc.client.id]);
      // The live session still signs its person in.
      const browser = new Browser(server.url);
      browser.cookies.set('tessera_session', live.secret);
      const code = await obtainCode(browser, tc.client);
      expect((await exchange(server, tc, code)).status).toBe(200);
    });
  });
}

describe('the periodic purge job (TESSERA_PURGE_INTERVAL=1)', () => {
  let server: RunningServer;
  const clock = new FrozenClock();
  beforeAll(async () => {
    server = await startServer({ clock, env: { ...ENV, TESSERA_PURGE_INTERVAL: '1' } });
  });
  afterAll(async () => server.close());

  it('purges expired tokens and sessions once a second, and leaves live ones', async () => {
    const ctx = server.app.tessera;
    const tc = await makeClient(ctx);
    const { user } = await makeUser(ctx);
    const offline = { scope: 'openid profile email offline_access' };
    const old = await obtainTokens(server.url, ctx, tc, user, offline);
    const oldSession = (await startSession(ctx, { userId: user.id, amr: ['pwd'] })).session;
    clock.advance(301);
    const young = await obtainTokens(server.url, ctx, tc, user, offline);
    const liveSession = (await startSession(ctx, { userId: user.id, amr: ['pwd'] })).session;
    const oldJti = String(decodeJwt(old.access_token).jti);

    // The job's own timer, moved on by hand; each round ends with a log line saying what it did.
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const log = captureLog();
    const stop = startPurgeJob({ ...ctx, log: log.logger });
    const round = () => log.next((line) => /purge/.test(line.msg ?? ''));
    try {
      const first = round();
      vi.advanceTimersByTime(1_000);
      expect(await first).toMatchObject({ msg: 'purged expired records' });
      expect(await ctx.store.tokens.find(oldJti)).toBeUndefined();
      // And again a second later, with nothing left to purge.
      const second = round();
      vi.advanceTimersByTime(1_000);
      expect(await second).toMatchObject({
        msg: 'purged expired records',
        purged: { tokens: 0, sessions: 0 },
      });
    } finally {
      stop();
      vi.useRealTimers();
    }
    expect(await ctx.store.sessions.findById(oldSession.id)).toBeUndefined();
    expect(await ctx.store.tokens.find(String(decodeJwt(young.access_token).jti))).toBeDefined();
    expect(await ctx.store.tokens.find(sha256(old.refresh_token!))).toBeDefined();
    expect(await ctx.store.sessions.findById(liveSession.id)).toBeDefined();
  });

  it('sets no timer when TESSERA_PURGE_INTERVAL is 0, and stop() clears the one it set', () => {
    const ctx = server.app.tessera;
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    try {
      startPurgeJob({ ...ctx, config: { ...ctx.config, purgeInterval: 0 } })();
      expect(vi.getTimerCount()).toBe(0);
      const stop = startPurgeJob(ctx);
      expect(vi.getTimerCount()).toBe(1);
      stop();
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });
});
