import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, startServer } from '../helpers/app.js';
import { Browser } from '../helpers/browser.js';
import { makeUser } from '../helpers/oauth.js';
import { startSmtp, type TestSmtp } from '../helpers/smtp.js';
import { passwordStep, totpCode, totpFixture } from '../helpers/totp.js';

/*
 * The pending sign-in cookie (between the first factor and the session) serves once, and only
 * in the browser it was given to: a copy replayed after the sign-in completed, or carried to
 * another browser, starts no session.
 */

/** A second browser holding copies of `cookies` of the first. */
function copyOf(from: Browser, base: string, names: string[]): Browser {
  const other = new Browser(base);
  for (const name of names) {
    const value = from.cookies.get(name);
    if (value !== undefined) other.cookies.set(name, value);
  }
  return other;
}

describe('the pending sign-in at the second factor', () => {
  const f = totpFixture();

  it('a copy of the cookies replayed after the sign-in completed starts no second session', async () => {
    const who = await f.enrolled();
    const browser = new Browser(f.server.url);
    const page = await passwordStep(browser, who.user.username, who.password);
    const thief = copyOf(browser, f.server.url, ['tessera_pending', 'tessera_csrf']);
    const done = await browser.submit(
      page,
      { Code: await totpCode(who.secret, f.clock) },
      'Verify',
    );
    expect(done.status).toBe(303);
    expect(new URL(done.location!).pathname).toBe('/account');
    f.clock.advance(30);
    // The same form (its CSRF token matches the copied seed), with the next right code.
    const replay = await thief.submit(
      page,
      { Code: await totpCode(who.secret, f.clock) },
      'Verify',
    );
    expect(replay.status).toBe(303);
    expect(replay.location).toBe(`${f.server.url}/login?expired=1`);
    expect(thief.cookies.has('tessera_session')).toBe(false);
    expect((await thief.get('/account')).status).toBe(303);
  });

  it('the pending cookie alone, in another browser, is no sign-in in progress', async () => {
    const who = await f.enrolled();
    const browser = new Browser(f.server.url);
    await passwordStep(browser, who.user.username, who.password);
    const other = copyOf(browser, f.server.url, ['tessera_pending']);
    const page = await other.get('/login/second-factor');
    expect(page.status).toBe(303);
    expect(page.location).toBe(`${f.server.url}/login?expired=1`);
    // Its own browser still goes on.
    expect((await browser.get('/login/second-factor')).status).toBe(200);
  });
});

describe('the pending sign-in at e-mail verification (TESSERA_REQUIRE_VERIFIED_EMAIL)', () => {
  let smtp: TestSmtp;
  let server: RunningServer;
  beforeAll(async () => {
    smtp = await startSmtp();
    server = await startServer({
      env: { TESSERA_SMTP_URL: smtp.url, TESSERA_REQUIRE_VERIFIED_EMAIL: 'true' },
    });
  });
  afterAll(async () => {
    await server?.close();
    await smtp?.close();
  });

  it('GET /verify-email with a copy of the cookies, after the address was verified, starts no session', async () => {
    const { user, password } = await makeUser(server.app.tessera);
    const browser = new Browser(server.url);
    const form = await browser.get('/login');
    const held = await browser.submit(
      form,
      { 'Username or email': user.username, Password: password },
      'Sign in',
    );
    expect(held.location).toBe(`${server.url}/verify-email`);
    const thief = copyOf(browser, server.url, ['tessera_pending', 'tessera_csrf']);
    const code = /\b(\d{6})\b/.exec((await smtp.next(user.email)).text)![1]!;
    const done = await browser.submit(await browser.get('/verify-email'), { Code: code }, 'Verify');
    expect(done.location).toBe(`${server.url}/account`);
    const replay = await thief.get('/verify-email');
    expect(replay.status).toBe(303);
    expect(replay.location).toBe(`${server.url}/login?expired=1`);
    expect(thief.cookies.has('tessera_session')).toBe(false);
  });
});
