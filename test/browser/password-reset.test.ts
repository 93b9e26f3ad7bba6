import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { type RunningServer, startServer } from '../helpers/app.js';
import { chromiumAvailable, launchChromium, RESULTS } from '../helpers/chromium.js';
import { makeUser } from '../helpers/oauth.js';
import { startSmtp, type TestSmtp } from '../helpers/smtp.js';

/**
 * "Forgot password?" in a real browser, the mail read from a real SMTP server: the whole way
 * from the sign-in page to signing in with the new password. Screenshots in
 * test-results/accounts-reset-*.png.
 */
describe.skipIf(!chromiumAvailable)('password reset in a real browser', () => {
  let smtp: TestSmtp;
  let server: RunningServer;
  let ctx: AppContext;
  let browser: Browser;
  beforeAll(async () => {
    smtp = await startSmtp();
    server = await startServer({ env: { TESSERA_SMTP_URL: smtp.url } });
    ctx = server.app.tessera;
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await smtp?.close();
  });

  it('resets a forgotten password from the sign-in page and signs in with the new one', async () => {
    const { user, password } = await makeUser(ctx);
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${server.url}/login`);
    await page.getByRole('link', { name: 'Forgot password?' }).click();
    await page.waitForURL(/\/forgot-password$/);
    await page.getByLabel('Username or email').fill(user.email);
    await page.screenshot({ path: join(RESULTS, 'accounts-reset-request.png'), fullPage: true });
    await page.getByRole('button', { name: 'Send reset link' }).click();
    await expect
      .poll(() => page.getByRole('status').textContent())
      .toContain('If an account matches what you typed');
    await page.screenshot({ path: join(RESULTS, 'accounts-reset-sent.png'), fullPage: true });

    const mail = await smtp.next(user.email);
    const link = /https?:\/\/[^\s"'<>]+\/reset-password\?token=[A-Za-z0-9_-]{43}/.exec(mail.text);
    expect(link, mail.text).not.toBeNull();
    await page.goto(link![0]);
    await page.getByLabel('New password', { exact: true }).fill('password123');
    await page.getByLabel('Confirm new password').fill('password123');
    await page.getByRole('button', { name: 'Change password' }).click();
    // Refused by the rule; the link still works.
    await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/commonly used/);
    await page.screenshot({ path: join(RESULTS, 'accounts-reset-refused.png'), fullPage: true });
    const fresh = 'lighthouse keeper at dawn';
    await page.getByLabel('New password', { exact: true }).fill(fresh);
    await page.getByLabel('Confirm new password').fill(fresh);
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.waitForURL(/\/login\?reset=1$/);
    expect(await page.getByRole('status').textContent()).toContain(
      'Your password has been reset. Sign in with your new password.',
    );
    await page.screenshot({ path: join(RESULTS, 'accounts-reset-done.png'), fullPage: true });

    await page.getByLabel('Username or email').fill(user.username);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('Incorrect');
    await page.getByLabel('Password').fill(fresh);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/account$/);
    await page.screenshot({ path: join(RESULTS, 'accounts-reset-signed-in.png'), fullPage: true });

    // The link is spent.
    await page.goto(link![0]);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe(
      'This link is no longer valid',
    );
  });
});
