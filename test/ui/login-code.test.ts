import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { type RunningServer, startServer } from '../helpers/app.js';
import { Browser, type Page } from '../helpers/browser.js';
import {
  authorizePath,
  makeClient,
  makeUser,
  pkce,
  postAsClient,
  REDIRECT_URI,
  redirectParams,
} from '../helpers/oauth.js';
import { startSmtp, type TestSmtp } from '../helpers/smtp.js';
import { alertOf, frozenDate } from '../throttle/helpers.js';

const time = frozenDate();
const codeIn = (text: string): string => /\b(\d{6})\b/.exec(text)![1]!;
const wrong = (code: string): string => String((Number(code) + 1) % 1_000_000).padStart(6, '0');
/** A page without what differs from one browser to the next (its CSRF token). */
const withoutCsrf = (page: Page) => page.text.replace(/name="_csrf" value="[^"]*"/g, '');

describe('"E-mail me a code" sign-in', () => {
  let smtp: TestSmtp;
  let server: RunningServer;
  let ctx: AppContext;
  beforeAll(async () => {
    smtp = await startSmtp();
    server = await startServer({ env: { TESSERA_SMTP_URL: smtp.url } });
    ctx = server.app.tessera;
  });
  afterAll(async () => {
    await server?.close();
    await smtp?.close();
  });

  const askForCode = async (browser: Browser, email: string, path = '/login/code') =>
    browser.submit(await browser.get(path), { Email: email }, 'Send code');

  it('is offered on the sign-in page, keeping return_to', async () => {
    const login = await new Browser(server.url).get('/login?return_to=/account/edit');
    expect(login.text).toContain('href="/login/code?return_to=/account/edit">E-mail me a code</a>');
  });

  it('signs in through a real authorization code flow with amr otp in the ID token', async () => {
    const { user } = await makeUser(ctx);
    const tc = await makeClient(ctx, { firstParty: true });
    const { verifier, challenge } = pkce();
    const browser = new Browser(server.url);
    const toLogin = await browser.get(
      authorizePath({
        response_type: 'code',
        client_id: tc.client.id,
        redirect_uri: REDIRECT_URI,
        scope: 'openid email',
        state: 's1',
        nonce: 'n1',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      }),
    );
    const login = await browser.follow(toLogin);
    const codePage = await browser.submit(
      await browser.get(
        /href="([^"]*\/login\/code[^"]*)"/.exec(login.text)![1]!.replace(/&amp;/g, '&'),
      ),
      { Email: user.email },
      'Send code',
    );
    expect(codePage.status).toBe(200);
    const mail = await smtp.next(user.email);
    const back = await browser.submit(codePage, { Code: codeIn(mail.text) }, 'Sign in');
    expect(back.status).toBe(303);
    expect(new URL(back.location!).pathname).toBe('/authorize');
    const callback = await browser.follow(back);
    const code = redirectParams(callback).get('code')!;
    const tokens = await postAsClient(server.url, '/token', tc, {
      grant_type: 'authorization_code',
      code,
      redirect_uri: REDIRECT_URI,
      code_verifier: verifier,
    });
    expect(tokens.status).toBe(200);
    const idToken = decodeJwt(tokens.body.id_token as string);
    expect(idToken.amr).toEqual(['otp']);
    expect(idToken.sub).toBe(user.id);
    // The code reached the address: it is verified too.
    expect((await ctx.store.users.findById(user.id))?.emailVerified).toBe(true);
  });

  it('answers an address without an account the same as one with, and mails nothing', async () => {
    const { user } = await makeUser(ctx);
    const nobody = `nobody-${user.username}@example.com`;
    const known = await askForCode(new Browser(server.url), user.email);
    const unknown = await askForCode(new Browser(server.url), nobody);
    expect(unknown.status).toBe(known.status);
    expect(withoutCsrf(unknown)).toBe(withoutCsrf(known).replaceAll(user.email, nobody));
    await ctx.mail.drain();
    await smtp.next(user.email);
    expect(smtp.to(nobody)).toEqual([]);
  });

  it('counts wrong codes toward the code’s five tries; the 6th is refused, right or wrong', async () => {
    const { user } = await makeUser(ctx);
    const browser = new Browser(server.url);
    let page = await askForCode(browser, user.email, '/login/code?return_to=/account/edit');
    const code = codeIn((await smtp.next(user.email)).text);
    for (let left = 4; left >= 0; left--) {
      page = await browser.submit(page, { Code: wrong(code) }, 'Sign in');
      expect(page.status).toBe(401);
      if (left > 0) expect(alertOf(page)).toContain(`${left} ${left === 1 ? 'try' : 'tries'} left`);
    }
    page = await browser.submit(page, { Code: code }, 'Sign in');
    expect(page.status).toBe(429);
    expect(page.headers.get('retry-after')).toBe('60');
    expect((await browser.get('/account')).status).toBe(303);
    // A new code, a minute later; return_to kept all along.
    time.pass(60);
    page = await browser.submit(page, {}, 'Send a new code');
    expect(page.status).toBe(200);
    const fresh = codeIn((await smtp.next(user.email)).text);
    const done = await browser.submit(page, { Code: fresh }, 'Sign in');
    expect(done.location).toBe(`${server.url}/account/edit`);
  });

  it('uses a code once, and not after 10 minutes', async () => {
    const { user } = await makeUser(ctx);
    const first = new Browser(server.url);
    const page = await askForCode(first, user.email);
    const code = codeIn((await smtp.next(user.email)).text);
    // A second browser at the code form (its own send refused within the minute: no new code).
    const second = new Browser(server.url);
    const secondPage = await askForCode(second, user.email);
    expect(secondPage.status).toBe(429);
    expect((await first.submit(page, { Code: code }, 'Sign in')).status).toBe(303);
    const replay = await second.submit(secondPage, { Code: code }, 'Sign in');
    expect(replay.status).toBe(401);
    expect(alertOf(replay)).toBe('That code is not right, or was already used. Send a new code.');

    time.pass(60);
    const late = new Browser(server.url);
    const latePage = await askForCode(late, user.email);
    const lateCode = codeIn((await smtp.next(user.email)).text);
    time.pass(600);
    const expired = await late.submit(latePage, { Code: lateCode }, 'Sign in');
    expect(expired.status).toBe(401);
    expect(alertOf(expired)).toBe('That code has expired. Send a new code.');
  });

  it('refuses a malformed address on the form, never a 500', async () => {
    const browser = new Browser(server.url);
    const page = await askForCode(browser, 'not-an-address');
    expect(page.status).toBe(400);
    expect(alertOf(page)).toBe('Enter the email address of your account.');
    const overlong = await browser.post('/login/code/verify', {
      _csrf: /name="_csrf" value="([^"]*)"/.exec(page.text)![1]!,
      email: `${'a'.repeat(300)}@example.com`,
      code: '1'.repeat(5000),
    });
    expect(overlong.status).toBe(400);
  });
});
