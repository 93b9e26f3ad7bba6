import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { type RunningServer, startServer } from '../helpers/app.js';
import { Browser, readForms } from '../helpers/browser.js';
import { makeUser, signInBrowser } from '../helpers/oauth.js';

/** The CSRF token of the first form on `path` that has one. */
async function tokenOn(browser: Browser, path: string): Promise<string> {
  const page = await browser.get(path);
  return readForms(page.text, page.url).find((f) => f.fields._csrf)!.fields._csrf!;
}

/**
 * Issue 9: CSRF tokens are bound to the session they were made in and the seed
 * is renewed at sign-in, so a token obtained before a sign-in, or planted from
 * another person's session, is refused.
 */
describe('CSRF tokens and sessions', () => {
  let server: RunningServer;
  let ctx: AppContext;
  beforeAll(async () => {
    server = await startServer();
    ctx = server.app.tessera;
  });
  afterAll(async () => server.close());

  const edit = (browser: Browser, csrf: string) =>
    browser.post('/account/edit', { _csrf: csrf, given_name: 'Changed' });

  it('a token from before the sign-in is refused after it, and the seed cookie is new', async () => {
    const { user, password } = await makeUser(ctx);
    const browser = new Browser(server.url);
    const login = await browser.get('/login');
    const before = readForms(login.text, login.url)[0]!.fields._csrf!;
    const seedBefore = browser.cookies.get('tessera_csrf');
    const signedIn = await browser.submit(
      login,
      { 'Username or email': user.username, Password: password },
      'Sign in',
    );
    expect(signedIn.status).toBe(303);
    expect(browser.cookies.get('tessera_csrf')).toBeDefined();
    expect(browser.cookies.get('tessera_csrf')).not.toBe(seedBefore);

    expect((await edit(browser, before)).status).toBe(403);
    const after = await tokenOn(browser, '/account');
    expect((await edit(browser, after)).status).toBe(303);
  });

  it("another person's token and seed, planted in a browser, are refused there", async () => {
    const victim = new Browser(server.url);
    await signInBrowser(ctx, victim, (await makeUser(ctx)).user);
    const attacker = new Browser(server.url);
    await signInBrowser(ctx, attacker, (await makeUser(ctx)).user);
    const attackersToken = await tokenOn(attacker, '/account');
    victim.cookies.set('tessera_csrf', attacker.cookies.get('tessera_csrf')!);
    expect((await edit(victim, attackersToken)).status).toBe(403);
    // The attacker's own pair still works for the attacker.
    expect((await edit(attacker, attackersToken)).status).toBe(303);
  });

  it('a token made while signed out is refused once a session exists, and the reverse', async () => {
    const browser = new Browser(server.url);
    const signedOut = await tokenOn(browser, '/login');
    await signInBrowser(ctx, browser, (await makeUser(ctx)).user);
    expect((await edit(browser, signedOut)).status).toBe(403);
    const signedIn = await tokenOn(browser, '/account');
    browser.cookies.delete('tessera_session');
    const login = await browser.get('/login');
    const form = readForms(login.text, login.url)[0]!;
    const res = await browser.post(form.action, {
      ...form.fields,
      _csrf: signedIn,
      username: 'x',
      password: 'y',
    });
    expect(res.status).toBe(403);
  });
});
