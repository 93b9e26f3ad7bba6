import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { LAST_SEEN_EVERY } from '../../src/domain/sessions.js';
import { FrozenClock } from '../../src/lib/clock.js';
import { type RunningServer, startServer } from '../helpers/app.js';
import { Browser } from '../helpers/browser.js';
import {
  makeClient,
  makeUser,
  obtainCode,
  pkce,
  postAsClient,
  refresh,
  signInBrowser,
  type TokenSet,
} from '../helpers/oauth.js';

/** 2026-03-02 09:00:00 UTC, on a minute, so the page's times read exactly. */
const START = Date.UTC(2026, 2, 2, 9, 0, 0);

describe('a session\'s "last seen"', () => {
  let server: RunningServer;
  let ctx: AppContext;
  const clock = new FrozenClock(START);
  const now = () => Math.floor(clock.now() / 1000);
  const lastSeen = async (id: string) => (await ctx.store.sessions.findById(id))?.lastSeenAt;

  beforeAll(async () => {
    server = await startServer({ clock });
    ctx = server.app.tessera;
  });
  afterAll(async () => server.close());

  it('moves when the browser comes back a minute or more later, and is not written within the minute', async () => {
    clock.set(START);
    const { user } = await makeUser(ctx);
    const browser = new Browser(server.url);
    const sessionId = await signInBrowser(ctx, browser, user);
    const signedInAt = now();
    expect(await lastSeen(sessionId)).toBe(signedInAt);

    clock.advance(LAST_SEEN_EVERY - 1);
    expect((await browser.get('/account')).status).toBe(200);
    expect(await lastSeen(sessionId)).toBe(signedInAt);

    clock.advance(1);
    const page = await browser.get('/account');
    expect(await lastSeen(sessionId)).toBe(signedInAt + LAST_SEEN_EVERY);
    // The page it was seen on already tells it.
    expect(page.text).toContain('last seen 2026-03-02 09:01 UTC');
    expect(page.text).toContain('signed in 2026-03-02 09:00 UTC');
  });

  it('another browser sees the time on the account page', async () => {
    clock.set(START);
    const { user } = await makeUser(ctx);
    const laptop = new Browser(server.url);
    const phone = new Browser(server.url);
    await signInBrowser(ctx, laptop, user);
    await signInBrowser(ctx, phone, user);
    clock.advance(7 * 60);
    await phone.get('/account');
    clock.advance(60);
    const page = await laptop.get('/account');
    expect(page.text).toMatch(/last seen 2026-03-02 09:07 UTC[\s\S]*?End session/);
  });

  it('does not move when an app refreshes its tokens, and moves when an app signs in through it', async () => {
    clock.set(START);
    const { user } = await makeUser(ctx);
    const tc = await makeClient(ctx);
    const browser = new Browser(server.url);
    const sessionId = await signInBrowser(ctx, browser, user);
    const { verifier, challenge } = pkce();
    const code = await obtainCode(browser, tc.client, {
      code_challenge: challenge,
      code_challenge_method: 'S256',
    });
    const exchanged = await postAsClient(server.url, '/token', tc, {
      grant_type: 'authorization_code',
      code,
      redirect_uri: tc.client.redirectUris[0],
      code_verifier: verifier,
    });
    expect(exchanged.status, exchanged.text).toBe(200);
    const tokens = exchanged.body as unknown as TokenSet;

    clock.advance(5 * 60);
    const refreshed = await refresh(server.url, tc, tokens.refresh_token!);
    expect(refreshed.status, refreshed.text).toBe(200);
    expect(await lastSeen(sessionId)).toBe(Math.floor(START / 1000));

    await obtainCode(browser, tc.client, {
      code_challenge: challenge,
      code_challenge_method: 'S256',
    });
    expect(await lastSeen(sessionId)).toBe(now());
  });
});
