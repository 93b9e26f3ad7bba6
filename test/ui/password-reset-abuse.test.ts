import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { type RunningServer, startServer } from '../helpers/app.js';
import { Browser } from '../helpers/browser.js';
import { makeUser } from '../helpers/oauth.js';
import {
  askForLink,
  INVALID,
  linkFromMail,
  settle,
  withoutCsrf,
} from '../helpers/password-reset.js';
import { startSmtp, type TestSmtp } from '../helpers/smtp.js';

describe('password reset limits and malformed links', () => {
  let smtp: TestSmtp;
  let server: RunningServer;
  let ctx: AppContext;

  beforeAll(async () => {
    smtp = await startSmtp();
    server = await startServer({
      env: { TESSERA_SMTP_URL: smtp.url, TESSERA_PASSWORD_RESET_MAX_PER_IP: '1000' },
    });
    ctx = server.app.tessera;
  });
  afterAll(async () => {
    await server.close();
    await smtp.close();
  });

  it('mails an account 5 links an hour; the 6th request gets the same answer and no mail', async () => {
    const { user } = await makeUser(ctx);
    const answers = [];
    for (let i = 1; i <= 6; i++) {
      answers.push(await askForLink(server.url, i % 2 ? user.username : user.email));
      await settle(ctx);
      expect(smtp.to(user.email), `request ${i}`).toHaveLength(Math.min(i, 5));
    }
    for (const answer of answers) {
      expect(answer.status).toBe(200);
      expect(withoutCsrf(answer.text)).toBe(withoutCsrf(answers[0]!.text));
    }
    // The 5th link, the last mailed, still works.
    const links = [];
    for (let i = 0; i < 5; i++) links.push(await linkFromMail(smtp, user.email));
    const last = links[4]!;
    expect((await new Browser(server.url).get(`${last.pathname}${last.search}`)).status).toBe(200);
  });

  it('shows the same "no longer valid" page for a missing, malformed, overlong or unknown token', async () => {
    const browser = new Browser(server.url);
    const pages = [
      await browser.get('/reset-password'),
      await browser.get('/reset-password?token='),
      await browser.get('/reset-password?token=%3Cscript%3Ealert(1)%3C%2Fscript%3E'),
      await browser.get(`/reset-password?token=${'A'.repeat(42)}*`),
      await browser.get(`/reset-password?token=${'A'.repeat(5000)}`),
      await browser.get(`/reset-password?token=${'A'.repeat(43)}`),
      await browser.get(`/reset-password?token=${'A'.repeat(43)}&token=${'B'.repeat(43)}`),
      await browser.get('/reset-password?token=%00%ff'),
    ];
    for (const page of pages) {
      expect(page.status, page.url).toBe(410);
      expect(page.text).toContain(INVALID);
      expect(page.text).toContain('href="/forgot-password"');
      expect(page.text).not.toContain('<script>');
    }
    // Posting the same junk: the same page, never a 500.
    const form = await browser.get('/forgot-password');
    const csrf = /name="_csrf" value="([^"]*)"/.exec(form.text)![1]!;
    for (const token of [undefined, '', 'junk', 'A'.repeat(5000), 'A'.repeat(43)]) {
      const page = await browser.post('/reset-password', {
        _csrf: csrf,
        ...(token === undefined ? {} : { token }),
        new_password: 'a fine new passphrase',
        confirm_password: 'a fine new passphrase',
      });
      expect(page.status, String(token)).toBe(410);
      expect(page.text).toContain(INVALID);
    }
  });

  it('refuses posts without the CSRF token, and an empty login with a message', async () => {
    const browser = new Browser(server.url);
    expect((await browser.post('/forgot-password', { username: 'someone' })).status).toBe(403);
    expect((await browser.post('/reset-password', { token: 'A'.repeat(43) })).status).toBe(403);
    const form = await browser.get('/forgot-password');
    const empty = await browser.submit(form, { 'Username or email': '   ' }, 'Send reset link');
    expect(empty.status).toBe(400);
    expect(empty.text).toContain('Enter your username or email.');
  });
});

describe('password reset limits per address', () => {
  let smtp: TestSmtp;
  let server: RunningServer;

  beforeAll(async () => {
    smtp = await startSmtp();
    server = await startServer({
      env: { TESSERA_SMTP_URL: smtp.url, TESSERA_PASSWORD_RESET_MAX_PER_IP: '3' },
    });
  });
  afterAll(async () => {
    await server.close();
    await smtp.close();
  });

  it('counts every request from an address, for any account or none; past the limit, no mail and the same answer', async () => {
    const ctx = server.app.tessera;
    const { user } = await makeUser(ctx);
    const first = await askForLink(server.url, 'no-such-account');
    await askForLink(server.url, 'nobody@example.com');
    await askForLink(server.url, user.username);
    await settle(ctx);
    expect(smtp.to(user.email)).toHaveLength(1);
    const fourth = await askForLink(server.url, user.username);
    await settle(ctx);
    expect(smtp.to(user.email)).toHaveLength(1);
    expect(fourth.status).toBe(first.status);
    expect(withoutCsrf(fourth.text)).toBe(withoutCsrf(first.text));
  });
});
