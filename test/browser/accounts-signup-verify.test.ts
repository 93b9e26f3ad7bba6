import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { type RunningServer, startServer } from '../helpers/app.js';
import { chromiumAvailable, launchChromium, RESULTS } from '../helpers/chromium.js';
import { startSmtp, type TestSmtp } from '../helpers/smtp.js';

/**
 * Sign-up with verification in a real browser (TESSERA_REQUIRE_VERIFIED_EMAIL on): the mail read
 * from a real SMTP server, the code typed, the account verified. Screenshots in
 * test-results/accounts-signup-verify-*.png.
 */
describe.skipIf(!chromiumAvailable)('sign-up with e-mail verification in a real browser', () => {
  let smtp: TestSmtp;
  let server: RunningServer;
  let ctx: AppContext;
  let browser: Browser;
  beforeAll(async () => {
    smtp = await startSmtp();
    server = await startServer({
      env: { TESSERA_SMTP_URL: smtp.url, TESSERA_REQUIRE_VERIFIED_EMAIL: 'true' },
    });
    ctx = server.app.tessera;
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await smtp?.close();
  });

  it('signs up, reads the code from the mail, types it and lands signed in and verified', async () => {
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${server.url}/signup`);
    await page.getByLabel('First name').fill('Katherine');
    await page.getByLabel('Last name').fill('Johnson');
    await page.getByLabel('Username').fill('katherine');
    await page.getByLabel('Email').fill('katherine@example.com');
    await page.getByLabel('Password').fill('orbital mechanics 1962');
    await page.getByRole('button', { name: 'Create account' }).click();

    await page.waitForURL(/\/verify-email$/);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Verify your email');
    expect(await page.content()).toContain('katherine@example.com');
    await page.screenshot({
      path: join(RESULTS, 'accounts-signup-verify-code.png'),
      fullPage: true,
    });

    const mail = await smtp.next('katherine@example.com');
    const code = /\b(\d{6})\b/.exec(mail.text)![1]!;
    // A wrong code first: the page says so and how many tries are left.
    await page.getByLabel('Code').fill(String((Number(code) + 1) % 1_000_000).padStart(6, '0'));
    await page.getByRole('button', { name: 'Verify' }).click();
    expect(await page.getByRole('alert').textContent()).toBe(
      'That code is not right. You have 4 tries left.',
    );
    await page.screenshot({
      path: join(RESULTS, 'accounts-signup-verify-wrong.png'),
      fullPage: true,
    });

    await page.getByLabel('Code').fill(code);
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.waitForURL(/\/account$/);
    expect(await page.content()).toMatch(/<dt>Email verified<\/dt><dd>Yes<\/dd>/);
    await page.screenshot({
      path: join(RESULTS, 'accounts-signup-verify-done.png'),
      fullPage: true,
    });
    expect((await ctx.store.users.findByLogin('katherine'))?.emailVerified).toBe(true);
  });
});
