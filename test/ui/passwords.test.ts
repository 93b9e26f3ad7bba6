import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SESSION_COOKIE } from '../../src/http/session.js';
import { type RunningServer, startServer } from '../helpers/app.js';
import { Browser, fieldNameByLabel, type Page } from '../helpers/browser.js';

const PASSWORD = 'correct horse battery';
const NEW_PASSWORD = 'a new and longer passphrase';

let counter = 0;
function person() {
  counter += 1;
  return { username: `pat_${counter}_person`, email: `Pat.${counter}@Example.com` };
}

async function signUp(
  browser: Browser,
  who: { username: string; email: string },
  password = PASSWORD,
) {
  const form = await browser.get('/signup');
  return browser.submit(
    form,
    { Username: who.username, Email: who.email, Password: password, 'First name': 'Pat' },
    'Create account',
  );
}

async function signIn(browser: Browser, login: string, password: string) {
  const form = await browser.get('/login');
  return browser.submit(form, { 'Username or email': login, Password: password }, 'Sign in');
}

/** The opening tag of the input a label names. */
function inputTag(page: Page, label: string): string {
  const name = fieldNameByLabel(page.text, label);
  expect(name, label).toBeDefined();
  return new RegExp(`<input\\b[^>]*\\sname="${name}"[^>]*>`).exec(page.text)![0];
}

const fullwidth = (text: string) =>
  text.replace(/[!-~]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0));

describe('passwords and e-mail addresses on the pages', () => {
  let server: RunningServer;
  const ctx = () => server.app.tessera;
  const now = () => Math.floor(Date.now() / 1000);

  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => {
    await server.close();
  });

  it('refuses a weak password on the sign-up form, with the message by the password field', async () => {
    const who = person();
    const form = await new Browser(server.url).get('/signup');
    expect(form.text).toContain('At least 10 characters.');
    expect(inputTag(form, 'Password')).toContain('minlength="10"');
    for (const [password, message] of [
      ['password', 'Password must be at least 10 characters'],
      ['12345678', 'Password must be at least 10 characters'],
      [' '.repeat(8), 'Password must not be only spaces'],
      [who.username, 'Password must not be the same as the username or email address'],
      [who.email.toLowerCase(), 'Password must not be the same as the username or email address'],
      ['qwertyuiop', 'This password is one of the most commonly used passwords'],
    ]) {
      const page = await signUp(new Browser(server.url), who, password);
      expect(page.status, password).toBe(400);
      expect(page.text).toMatch(
        new RegExp(`role="alert" class="error" id="form-error">${message}`),
      );
      const input = inputTag(page, 'Password');
      expect(input).toContain('aria-invalid="true"');
      expect(input).toContain('aria-describedby="form-error password-help"');
      expect(inputTag(page, 'Username')).not.toContain('aria-invalid');
      // What was typed comes back, except the password.
      expect(page.text).toContain(`value="${who.username}"`);
      expect(inputTag(page, 'Password')).not.toContain('value=');
    }
    expect(await ctx().store.users.findByLogin(who.username)).toBeUndefined();
  });

  it('keeps e-mail addresses unique in every case and Unicode form, and signs in by any of them', async () => {
    const who = person();
    const created = await signUp(new Browser(server.url), who);
    expect(created.status).toBe(303);
    const user = (await ctx().store.users.findByLogin(who.username))!;
    // The domain is lower-cased, the local part kept as typed.
    expect(user.email).toBe(who.email.replace('@Example.com', '@example.com'));

    for (const email of [who.email.toLowerCase(), fullwidth(who.email.toUpperCase())]) {
      const clash = await signUp(new Browser(server.url), { username: `${who.username}_x`, email });
      expect(clash.status, email).toBe(409);
      expect(clash.text).toMatch(/role="alert"[^>]*>An account with that email address/);
    }
    for (const login of [who.email.toUpperCase(), fullwidth(who.email), ` ${who.email} `]) {
      const done = await signIn(new Browser(server.url), login, PASSWORD);
      expect(done.status, login).toBe(303);
    }
  });

  it('shows a "Change password" form with labelled fields on the account page', async () => {
    const browser = new Browser(server.url);
    const account = await browser.follow(await signUp(browser, person()));
    expect(account.text).toContain('<h2 id="password-heading">Change password</h2>');
    expect(fieldNameByLabel(account.text, 'Current password')).toBe('current_password');
    expect(fieldNameByLabel(account.text, 'New password')).toBe('new_password');
    expect(inputTag(account, 'Current password')).toContain('autocomplete="current-password"');
    expect(inputTag(account, 'New password')).toContain('autocomplete="new-password"');
  });

  it('changes nothing for a wrong or missing current password (401/400), nor for a weak new one (400)', async () => {
    const who = person();
    const browser = new Browser(server.url);
    const account = await browser.follow(await signUp(browser, who));
    const other = new Browser(server.url);
    expect((await signIn(other, who.username, PASSWORD)).status).toBe(303);
    const user = (await ctx().store.users.findByLogin(who.username))!;
    const change = (current: string, next: string) =>
      browser.submit(
        account,
        { 'Current password': current, 'New password': next },
        'Change password',
      );

    const wrong = await change('not my password', NEW_PASSWORD);
    expect(wrong.status).toBe(401);
    expect(wrong.text).toMatch(
      /role="alert" class="error" id="password-error">Incorrect current password: your password was not changed/,
    );
    expect(inputTag(wrong, 'Current password')).toContain('aria-invalid="true"');
    expect(wrong.text).not.toContain('not my password');
    expect((await change('', NEW_PASSWORD)).status).toBe(400);

    for (const [next, message] of [
      ['password', 'New password must be at least 10 characters'],
      ['', 'New password is required'],
      [' '.repeat(12), 'New password must not be only spaces'],
      [
        who.username.toUpperCase(),
        'New password must not be the same as the username or email address',
      ],
      ['basketball', 'This password is one of the most commonly used passwords'],
    ]) {
      const weak = await change(PASSWORD, next);
      expect(weak.status, next).toBe(400);
      expect(weak.text).toMatch(
        new RegExp(`role="alert" class="error" id="password-error">${message}`),
      );
      expect(inputTag(weak, 'New password')).toContain('aria-invalid="true"');
    }

    expect(await ctx().store.users.findById(user.id)).toEqual(user);
    expect(await ctx().store.sessions.listActiveForUser(user.id, now())).toHaveLength(2);
    const failed = await ctx().store.audit.list({ limit: 50, userId: user.id });
    // The wrong current password is audited as the sign-in limits record failures, once a window.
    const audited = failed.filter((e) => e.type === 'user.login_failed');
    expect(audited).toHaveLength(1);
    expect(audited[0]?.details).toMatchObject({ purpose: 'change_password' });
    expect(failed.filter((e) => e.type === 'security.password_changed')).toHaveLength(0);
  });

  it('changes the password: the old one no longer signs in, the new one does, other sessions end', async () => {
    const who = person();
    const browser = new Browser(server.url);
    const account = await browser.follow(await signUp(browser, who));
    const other = new Browser(server.url);
    expect((await signIn(other, who.email, PASSWORD)).status).toBe(303);
    expect((await other.get('/account')).status).toBe(200);
    const user = (await ctx().store.users.findByLogin(who.username))!;

    const done = await browser.submit(
      account,
      { 'Current password': PASSWORD, 'New password': NEW_PASSWORD },
      'Change password',
    );
    expect(done.status).toBe(303);
    expect(done.location).toBe(`${server.url}/account?notice=password-changed`);
    const after = await browser.follow(done);
    expect(after.status).toBe(200);
    expect(after.text).toMatch(
      /role="status" class="notice">Your password has been changed, and your other sessions have been ended/,
    );
    expect(after.text).toContain(`Signed in as <strong>${who.username}</strong>`);
    expect(browser.cookies.has(SESSION_COOKIE)).toBe(true);

    // The other browser is signed out.
    const elsewhere = await other.get('/account');
    expect(elsewhere.status).toBe(303);
    expect(elsewhere.location).toBe(`${server.url}/login?return_to=/account`);
    expect(await ctx().store.sessions.listActiveForUser(user.id, now())).toHaveLength(1);

    expect((await signIn(new Browser(server.url), who.username, PASSWORD)).status).toBe(401);
    expect((await signIn(new Browser(server.url), who.username, NEW_PASSWORD)).status).toBe(303);

    const events = await ctx().store.audit.list({ limit: 50, userId: user.id });
    const changed = events.find((e) => e.type === 'security.password_changed');
    expect(changed).toMatchObject({ details: { by: 'self', sessions_ended: 1 } });
    expect(JSON.stringify(events)).not.toContain(NEW_PASSWORD);
  });
});
