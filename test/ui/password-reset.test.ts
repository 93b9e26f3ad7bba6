import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { FrozenClock } from '../../src/lib/clock.js';
import { type RunningServer, startServer } from '../helpers/app.js';
import { Browser } from '../helpers/browser.js';
import {
  expectOAuthError,
  makeClient,
  makeUser,
  obtainTokens,
  refresh,
  signInBrowser,
} from '../helpers/oauth.js';
import {
  askForLink,
  INVALID,
  linkFromMail,
  resetWith,
  settle,
  withoutCsrf,
} from '../helpers/password-reset.js';
import { startSmtp, type TestSmtp } from '../helpers/smtp.js';

const NEW_PASSWORD = 'a brand new passphrase';

describe('password reset over HTTP, with mail through a real SMTP server', () => {
  let smtp: TestSmtp;
  let server: RunningServer;
  let ctx: AppContext;
  const clock = new FrozenClock();

  beforeAll(async () => {
    smtp = await startSmtp();
    server = await startServer({
      clock,
      env: { TESSERA_SMTP_URL: smtp.url, TESSERA_PASSWORD_RESET_MAX_PER_IP: '1000' },
    });
    ctx = server.app.tessera;
  });
  afterAll(async () => {
    await server.close();
    await smtp.close();
  });

  async function signIn(login: string, password: string) {
    const browser = new Browser(server.url);
    const form = await browser.get('/login');
    return browser.submit(form, { 'Username or email': login, Password: password }, 'Sign in');
  }

  it('answers an unknown and a known account alike, byte for byte but the CSRF token', async () => {
    const { user } = await makeUser(ctx);
    const answers = [
      await askForLink(server.url, user.username),
      await askForLink(server.url, user.email.toUpperCase()),
      await askForLink(server.url, 'nobody-at-all'),
      await askForLink(server.url, 'nobody@example.com'),
    ];
    const [first] = answers;
    expect(first!.status).toBe(200);
    expect(first!.text).toContain('If an account matches what you typed');
    for (const answer of answers) {
      expect(answer.status).toBe(first!.status);
      expect(answer.headers.get('content-type')).toBe(first!.headers.get('content-type'));
      expect(answer.headers.get('content-length')).toBe(first!.headers.get('content-length'));
      expect(withoutCsrf(answer.text)).toBe(withoutCsrf(first!.text));
    }
    await settle(ctx);
    // Two links were asked for the known account; only the newer one works.
    const older = await linkFromMail(smtp, user.email);
    const newer = await linkFromMail(smtp, user.email);
    expect((await new Browser(server.url).get(`${older.pathname}${older.search}`)).status).toBe(
      410,
    );
    expect((await new Browser(server.url).get(`${newer.pathname}${newer.search}`)).status).toBe(
      200,
    );
    expect(smtp.mails.some((m) => m.to.includes('nobody@example.com'))).toBe(false);
  });

  it('answers before the link is written or mailed: the only work awaited is the lookup', async () => {
    const { user } = await makeUser(ctx);
    // Hold the background work (limits, link, mail) until both answers are in.
    const limits = ctx.throttle.passwordReset;
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    ctx.throttle.passwordReset = async (...args) => {
      await held;
      return limits(...args);
    };
    try {
      const known = await askForLink(server.url, user.username);
      const unknown = await askForLink(server.url, 'no-such-person-here');
      expect(withoutCsrf(known.text)).toBe(withoutCsrf(unknown.text));
      expect(smtp.to(user.email)).toHaveLength(0);
    } finally {
      release();
      ctx.throttle.passwordReset = limits;
    }
    await settle(ctx);
    await linkFromMail(smtp, user.email);
  });

  it('mails a link that works once, then sends the person to sign in with the new password', async () => {
    const { user, password } = await makeUser(ctx);
    await askForLink(server.url, user.email);
    const link = await linkFromMail(smtp, user.email);
    expect(link.origin).toBe(server.url);
    const path = `${link.pathname}${link.search}`;
    // Showing the form twice spends nothing.
    const browser = new Browser(server.url);
    const form = await browser.get(path);
    expect((await browser.get(path)).status).toBe(200);
    expect(form.headers.get('referrer-policy')).toBe('no-referrer');

    const done = await browser.submit(
      form,
      { 'New password': NEW_PASSWORD, 'Confirm new password': NEW_PASSWORD },
      'Change password',
    );
    expect(done.status).toBe(303);
    expect(done.location).toBe(`${server.url}/login?reset=1`);
    expect(done.headers.get('set-cookie') ?? '').not.toContain('tessera_session=');
    const login = await browser.follow(done);
    expect(login.text).toContain('Your password has been reset. Sign in with your new password.');
    // A passkey or app added by someone else outlives a reset: the page says where to look.
    expect(login.text).toContain(
      'Your passkeys and authenticator app still sign you in: check them on your account page.',
    );

    expect((await signIn(user.username, password)).status).toBe(401);
    expect((await signIn(user.username, NEW_PASSWORD)).status).toBe(303);

    const replayed = await browser.submit(
      form,
      {
        'New password': 'yet another passphrase',
        'Confirm new password': 'yet another passphrase',
      },
      'Change password',
    );
    for (const again of [await browser.get(path), replayed]) {
      expect(again.status).toBe(410);
      expect(again.text).toContain(INVALID);
      expect(again.text).toContain('href="/forgot-password"');
    }
    expect((await signIn(user.username, NEW_PASSWORD)).status).toBe(303);
  });

  it('works at 29:59 after the request and not at 30:00', async () => {
    const { user } = await makeUser(ctx);
    await askForLink(server.url, user.username);
    await settle(ctx);
    const first = await linkFromMail(smtp, user.email);
    clock.advance(30 * 60 - 1);
    const lastSecond = await resetWith(server.url, first, NEW_PASSWORD);
    expect(lastSecond.status).toBe(303);
    expect((await smtp.next(user.email)).text).toMatch(/reset/i);

    await askForLink(server.url, user.username);
    await settle(ctx);
    const second = await linkFromMail(smtp, user.email);
    const browser = new Browser(server.url);
    const form = await browser.get(`${second.pathname}${second.search}`);
    expect(form.status).toBe(200);
    clock.advance(30 * 60);
    const late = await browser.submit(
      form,
      { 'New password': 'too late a passphrase', 'Confirm new password': 'too late a passphrase' },
      'Change password',
    );
    expect(late.status).toBe(410);
    expect(late.text).toContain(INVALID);
    expect((await browser.get(`${second.pathname}${second.search}`)).status).toBe(410);
    expect((await signIn(user.username, NEW_PASSWORD)).status).toBe(303);
  });

  it('keeps the link working when the password rule refuses the new password', async () => {
    const { user } = await makeUser(ctx);
    await askForLink(server.url, user.username);
    const link = await linkFromMail(smtp, user.email);
    const cases: [string, string, string][] = [
      ['x9#Lq!v2W', 'x9#Lq!v2W', 'New password must be at least 10 characters'],
      ['BASKETBALL', 'BASKETBALL', 'This password is one of the most commonly used passwords'],
      [user.username, user.username, 'New password must not be the same as the username or email'],
      [user.email, user.email, 'New password must not be the same as the username or email'],
      [NEW_PASSWORD, `${NEW_PASSWORD}!`, 'The two passwords do not match.'],
      ['', '', 'Password is required'],
    ];
    for (const [password, confirm, message] of cases) {
      const page = await resetWith(server.url, link, password, confirm);
      expect(page.status, password).toBe(400);
      expect(page.text).toContain('role="alert" class="error" id="form-error">');
      expect(page.text.toLowerCase()).toContain(message.toLowerCase());
    }
    expect((await resetWith(server.url, link, 'x9#Lq!v2Wz')).status).toBe(303);
  });

  it('ends every session and revokes every refresh token of the person, and mails a notice', async () => {
    const { user } = await makeUser(ctx);
    const tc = await makeClient(ctx);
    const online = await obtainTokens(server.url, ctx, tc, user);
    const offline = await obtainTokens(server.url, ctx, tc, user, {
      scope: 'openid offline_access',
      prompt: 'consent',
    });
    // Granted offline_access: this refresh token belongs to no session, so no session's end revokes it.
    expect(offline.scope.split(' ')).toContain('offline_access');
    const elsewhere = new Browser(server.url);
    await signInBrowser(ctx, elsewhere, user);
    expect((await elsewhere.get('/account')).status).toBe(200);
    // The browser doing the reset is signed in too.
    const here = new Browser(server.url);
    await signInBrowser(ctx, here, user);

    await askForLink(server.url, user.username);
    const link = await linkFromMail(smtp, user.email);
    const form = await here.get(`${link.pathname}${link.search}`);
    const done = await here.submit(
      form,
      { 'New password': NEW_PASSWORD, 'Confirm new password': NEW_PASSWORD },
      'Change password',
    );
    expect(done.status).toBe(303);

    for (const browser of [elsewhere, here]) {
      const account = await browser.get('/account');
      expect(account.status).toBe(303);
      expect(account.location).toContain('/login');
    }
    for (const tokens of [online, offline]) {
      expect(tokens.refresh_token).toBeDefined();
      expectOAuthError(await refresh(server.url, tc, tokens.refresh_token!), 400, 'invalid_grant');
    }
    const notice = await smtp.next(user.email);
    expect(`${notice.subject}\n${notice.text}`).toMatch(/reset/i);
    const events = await ctx.store.audit.list({ userId: user.id, limit: 50 });
    expect(events.map((e) => e.type)).toContain('security.password_reset');
  });

  it('gives a link to exactly one of ten concurrent submissions', async () => {
    const { user } = await makeUser(ctx);
    await askForLink(server.url, user.username);
    const link = await linkFromMail(smtp, user.email);
    const browser = new Browser(server.url);
    const form = await browser.get(`${link.pathname}${link.search}`);
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        browser.submit(
          form,
          {
            'New password': `racing passphrase ${i}`,
            'Confirm new password': `racing passphrase ${i}`,
          },
          'Change password',
        ),
      ),
    );
    expect(answers.filter((a) => a.status === 303)).toHaveLength(1);
    expect(answers.filter((a) => a.status === 410)).toHaveLength(9);
  });
  it('ends a mailed link when the password is changed on the account page', async () => {
    const { user, password } = await makeUser(ctx);
    await askForLink(server.url, user.username);
    const link = await linkFromMail(smtp, user.email);
    const browser = new Browser(server.url);
    await signInBrowser(ctx, browser, user);
    const changed = await browser.submit(
      await browser.get('/account'),
      { 'Current password': password, 'New password': NEW_PASSWORD },
      'Change password',
    );
    expect(changed.status).toBeLessThan(400);
    const opened = await new Browser(server.url).get(`${link.pathname}${link.search}`);
    expect(opened.status).toBe(410);
    expect(opened.text).toContain(INVALID);
  });

  it('ends a mailed link when a new address is verified', async () => {
    const { user } = await makeUser(ctx);
    await askForLink(server.url, user.username);
    const link = await linkFromMail(smtp, user.email);
    const browser = new Browser(server.url);
    await signInBrowser(ctx, browser, user);
    const next = `moved-${user.email}`;
    await browser.submit(await browser.get('/account/edit'), { Email: next }, 'Save changes');
    const code = /\b(\d{6})\b/.exec((await smtp.next(next)).text)![1]!;
    const done = await browser.submit(await browser.get('/verify-email'), { Code: code }, 'Verify');
    expect(done.text).toContain(`<strong>${next}</strong> is verified`);
    const opened = await new Browser(server.url).get(`${link.pathname}${link.search}`);
    expect(opened.status).toBe(410);
    expect(opened.text).toContain(INVALID);
  });
});
