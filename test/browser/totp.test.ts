import { join } from 'node:path';
import { generate } from 'otplib';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { type RunningServer, startServer } from '../helpers/app.js';
import { chromiumAvailable, launchChromium, RESULTS } from '../helpers/chromium.js';
import { makeUser } from '../helpers/oauth.js';

/** The code an app shows `steps` time steps from now (real time: the browser's server runs on it). */
const codeFor = (secret: string, steps = 0) =>
  generate({ secret, epoch: Math.floor(Date.now() / 1000) + steps * 30 });

/**
 * TOTP in headless Chromium, as a person meets it: set up from the account page (the key read as
 * text from the page, the code computed from it as an app would), the recovery codes, then a
 * sign-in that asks for a code. Screenshots in test-results/accounts-totp-*.png.
 */
describe.skipIf(!chromiumAvailable)('two-factor authentication in a real browser', () => {
  let server: RunningServer;
  let ctx: AppContext;
  let browser: Browser;
  beforeAll(async () => {
    server = await startServer();
    ctx = server.app.tessera;
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('sets up an authenticator app, shows the recovery codes, and asks for a code at the next sign-in', async () => {
    const { user, password } = await makeUser(ctx);
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${server.url}/login`);
    await page.getByLabel('Username or email').fill(user.username);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/account$/);

    const section = page.getByRole('region', { name: 'Two-factor authentication' });
    await section.getByRole('link', { name: 'Set up an authenticator app' }).click();
    await page.waitForURL(/\/account\/two-factor$/);
    expect(
      await page.getByRole('img', { name: 'QR code for your authenticator app' }).count(),
    ).toBe(1);
    await page.screenshot({ path: join(RESULTS, 'accounts-totp-setup.png'), fullPage: true });
    const secret = ((await page.locator('#totp-secret').textContent()) ?? '').replace(/\s/g, '');
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);

    await page.getByLabel('Code', { exact: true }).fill('000000');
    await page.getByRole('button', { name: 'Turn on' }).click();
    expect(await page.getByRole('alert').textContent()).toContain('That code is not right');
    await page.getByLabel('Code', { exact: true }).fill(await codeFor(secret));
    await page.getByRole('button', { name: 'Turn on' }).click();
    await page.getByRole('heading', { name: 'Save these recovery codes' }).waitFor();
    const codes = await page
      .getByRole('list', { name: 'Recovery codes' })
      .locator('code')
      .allTextContents();
    expect(codes).toHaveLength(10);
    await page.screenshot({
      path: join(RESULTS, 'accounts-totp-recovery-codes.png'),
      fullPage: true,
    });
    await page.getByRole('link', { name: 'I have saved them' }).click();
    await page.waitForURL(/notice=two-factor-on/);
    expect(await section.textContent()).toContain('10 of 10 recovery codes left');
    await page.screenshot({ path: join(RESULTS, 'accounts-totp-account.png'), fullPage: true });

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/login/);
    await page.getByLabel('Username or email').fill(user.email);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/login\/second-factor$/);
    expect(await page.getByRole('button', { name: 'Use a passkey' }).count()).toBe(0);
    await page.screenshot({
      path: join(RESULTS, 'accounts-totp-second-factor.png'),
      fullPage: true,
    });
    // The code of the set-up's time step is spent: the app's next one is within the window.
    await page.getByLabel('Code', { exact: true }).fill(await codeFor(secret, 1));
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.waitForURL(/\/account$/);
    expect(await page.content()).toContain(user.email);
    const [session] = await ctx.store.sessions.listActiveForUser(
      user.id,
      Math.floor(Date.now() / 1000),
    );
    expect(session?.amr).toEqual(['pwd', 'otp', 'mfa']);
  });
});
