import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordSecurityEvent } from '../../src/domain/security-events.js';
import { BROWSER_COOKIE } from '../../src/http/cookies.js';
import { type RunningServer, startServer } from '../helpers/app.js';
import { Browser } from '../helpers/browser.js';
import { startSmtp, type TestSmtp } from '../helpers/smtp.js';

const PASSWORD = 'correct horse battery';
const NEW_DEVICE = 'Example ID: New sign-in from a device not used before';

let counter = 0;
function person() {
  counter += 1;
  return { username: `sam_${counter}_notice`, email: `sam.${counter}@example.com` };
}

describe('security notices and the account page’s security activity', () => {
  let smtp: TestSmtp;
  let server: RunningServer;
  const ctx = () => server.app.tessera;
  beforeAll(async () => {
    smtp = await startSmtp();
    server = await startServer({
      env: { TESSERA_SMTP_URL: smtp.url, TESSERA_SITE_NAME: 'Example ID' },
    });
  });
  afterAll(async () => {
    await server?.close();
    await smtp?.close();
  });

  async function signUp(browser: Browser, who: { username: string; email: string }) {
    const form = await browser.get('/signup');
    const done = await browser.submit(
      form,
      { Username: who.username, Email: who.email, Password: PASSWORD },
      'Create account',
    );
    expect(done.status).toBe(303);
  }
  async function signIn(browser: Browser, login: string, password = PASSWORD) {
    const form = await browser.get('/login');
    const done = await browser.submit(
      form,
      { 'Username or email': login, Password: password },
      'Sign in',
    );
    expect(done.status).toBe(303);
    return done;
  }
  /** Mails to `address` with `subject`, once every queued mail has gone out. */
  async function mailsTo(address: string, subject: string) {
    await ctx().mail.drain();
    return smtp.to(address).filter((m) => m.subject === subject);
  }

  it('mails a notice for the first sign-in from a new browser after sign-up, and none for a browser seen before', async () => {
    const who = person();
    const first = new Browser(server.url);
    await signUp(first, who);
    expect(first.cookies.get(BROWSER_COOKIE)).toMatch(/^[\w-]{43}$/);
    // Signing in again where they signed up is no news.
    await signIn(first, who.username);
    expect(await mailsTo(who.email, NEW_DEVICE)).toHaveLength(0);

    const second = new Browser(server.url);
    await signIn(second, who.email);
    const [notice] = await mailsTo(who.email, NEW_DEVICE);
    expect(notice?.text).toContain(
      'signed in to from a browser or device it had not been used from before',
    );
    expect(notice?.text).toContain('Address: 127.0.0.1');
    expect(notice?.text).toContain(`${server.url}/account`);

    // The same browser again, and the first one again: nothing more.
    await signIn(second, who.username);
    await signIn(first, who.username);
    expect(await mailsTo(who.email, NEW_DEVICE)).toHaveLength(1);
    const user = (await ctx().store.users.findByLogin(who.username))!;
    const events = await ctx().store.audit.list({
      limit: 50,
      userId: user.id,
      types: ['security.'],
    });
    expect(events.map((e) => e.type)).toEqual(['security.new_device_sign_in']);
  });

  it('treats a browser whose cookie was tampered with as a new one', async () => {
    const who = person();
    const first = new Browser(server.url);
    await signUp(first, who);
    first.cookies.set(BROWSER_COOKIE, 'not-a-browser-id');
    await signIn(first, who.username);
    expect(await mailsTo(who.email, NEW_DEVICE)).toHaveLength(1);
    expect(first.cookies.get(BROWSER_COOKIE)).toMatch(/^[\w-]{43}$/);
  });

  it('mails a notice when the password is changed, and lists it with the sign-ins on the account page', async () => {
    const who = person();
    const browser = new Browser(server.url);
    await signUp(browser, who);
    const account = await browser.get('/account');
    expect(account.text).toContain('Recent security activity');
    const done = await browser.submit(
      account,
      { 'Current password': PASSWORD, 'New password': 'a new and longer passphrase' },
      'Change password',
    );
    expect(done.status).toBe(303);
    const [notice] = await mailsTo(who.email, 'Example ID: Password changed');
    expect(notice?.text).toContain('The password of your account was changed.');
    expect(notice?.html).toContain('127.0.0.1');
    expect(notice?.text).toMatch(/When: \d{4}-\d\d-\d\d \d\d:\d\d UTC/);

    const page = await browser.get('/account');
    const activity = section(page.text);
    expect(activity).toContain('Password changed');
    expect(activity).toContain('Signed in with a password');
    expect(activity.indexOf('Password changed')).toBeLessThan(
      activity.indexOf('Signed in with a password'),
    );
    expect(activity).toContain('127.0.0.1');
  });

  it('words every security event, shows their details as text, and lists the last 20', async () => {
    const who = person();
    const browser = new Browser(server.url);
    await signUp(browser, who);
    const user = (await ctx().store.users.findByLogin(who.username))!;
    const origin = { ip: '198.51.100.9', device: '<img src=x onerror=alert(1)>' };
    await recordSecurityEvent(ctx(), user, 'passkey_added', origin, {
      subject: '<script>alert(1)</script>',
    });
    let page = await browser.get('/account');
    let activity = section(page.text);
    expect(activity).toContain('Passkey added: “&lt;script&gt;alert(1)&lt;/script&gt;”');
    expect(activity).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(activity).not.toContain('<script>');
    expect(activity).not.toContain('<img');

    const types = [
      'password_reset',
      'email_changed',
      'two_factor_enabled',
      'two_factor_disabled',
      'recovery_codes_regenerated',
      'passkey_removed',
    ] as const;
    for (const type of types) await recordSecurityEvent(ctx(), user, type, origin);
    page = await browser.get('/account');
    activity = section(page.text);
    for (const words of [
      'Password reset',
      'E-mail address changed',
      'Two-factor sign-in turned on',
      'Two-factor sign-in turned off',
      'New recovery codes made',
      'Passkey removed',
    ]) {
      expect(activity).toContain(words);
    }
    // 1 sign-up sign-in + 7 events so far; 13 more make 21, of which the page lists 20.
    for (let i = 0; i < 12; i++) await recordSecurityEvent(ctx(), user, 'email_changed', origin);
    expect(lines(await browser.get('/account'))).toBe(20);
    await recordSecurityEvent(ctx(), user, 'email_changed', origin);
    const listed = section((await browser.get('/account')).text);
    expect(lines({ text: listed })).toBe(20);
    // The oldest, the sign-up's sign-in, is the one left out.
    expect(listed).not.toContain('Signed in with a password');
  });
});

/** The "Recent security activity" section of the account page. */
function section(html: string): string {
  const start = html.indexOf('<section aria-labelledby="activity-heading">');
  return html.slice(start, html.indexOf('</section>', start));
}

function lines(page: { text: string }): number {
  return (section(page.text).match(/<li>/g) ?? []).length;
}
