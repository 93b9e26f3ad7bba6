import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, startServer } from '../helpers/app.js';
import type { Page } from '../helpers/browser.js';
import { makeUser, signInBrowser } from '../helpers/oauth.js';
import {
  alertOf,
  BrowserAt,
  expectRetryAfter,
  freshIp,
  frozenDate,
  signInFrom,
} from './helpers.js';

const time = frozenDate();

describe('the password check before deleting an account', () => {
  let server: RunningServer;
  const ctx = () => server.app.tessera;
  beforeAll(async () => {
    server = await startServer({
      env: {
        TESSERA_TRUST_PROXY: 'loopback',
        TESSERA_SIGNIN_MAX_FAILURES: '3',
        TESSERA_SIGNIN_DELAY_SECONDS: '0',
        TESSERA_SIGNIN_LOCKOUT_SECONDS: '900',
      },
    });
  });
  afterAll(async () => server.close());

  const deleteWith = async (browser: BrowserAt, password: string): Promise<Page> =>
    browser.submit(await browser.get('/account'), { Password: password }, 'Delete account');

  it('is limited like sign-in, refuses the right password during the lockout, and deletes after it', async () => {
    const { user, password } = await makeUser(ctx());
    const ip = freshIp();
    // A stolen session, say: it must not become a way to guess the password.
    const browser = new BrowserAt(server.url, ip);
    await signInBrowser(ctx(), browser, user);

    for (let i = 0; i < 2; i++) {
      const wrong = await deleteWith(browser, 'a wrong guess');
      expect(wrong.status).toBe(401);
      expect(alertOf(wrong)).toBe('Incorrect password: your account was not deleted.');
    }
    const third = await deleteWith(browser, 'a wrong guess');
    expect(expectRetryAfter(third, 900)).toBe(900);
    expect(third.headers.get('content-type')).toMatch(/^text\/html/);
    expect(alertOf(third)).toBe(
      'Too many failed attempts. Try again in 15 minutes. Your account was not deleted.',
    );
    expect(third.text).toContain('<h2 id="delete-heading">Delete account</h2>');

    expectRetryAfter(await deleteWith(browser, password), 900);
    // The same count as sign-in: the address is locked out of signing in to the account too.
    expect((await signInFrom(server.url, ip, user.username, password)).status).toBe(429);
    expect(await ctx().store.users.findById(user.id)).toBeDefined();

    time.pass(900);
    const deleted = await deleteWith(browser, password);
    expect(deleted.status).toBe(303);
    expect(await ctx().store.users.findById(user.id)).toBeUndefined();
    const events = await ctx().store.audit.list({ limit: 20, userId: user.id });
    expect(events.find((e) => e.type === 'user.login_locked')?.details).toMatchObject({
      purpose: 'delete_account',
      scope: 'account_ip',
    });
  });

  it('answers an empty password with 400 without counting it', async () => {
    const { user, password } = await makeUser(ctx());
    const browser = new BrowserAt(server.url, freshIp());
    await signInBrowser(ctx(), browser, user);
    for (let i = 0; i < 5; i++) {
      const page = await browser.post('/account/delete', {
        _csrf: /name="_csrf" value="([^"]+)"/.exec((await browser.get('/account')).text)![1]!,
        password: '',
      });
      expect(page.status).toBe(400);
    }
    expect((await deleteWith(browser, password)).status).toBe(303);
  });
});
