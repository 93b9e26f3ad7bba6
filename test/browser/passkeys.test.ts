import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { type RunningServer, startServer } from '../helpers/app.js';
import { chromiumAvailable, launchChromium, RESULTS } from '../helpers/chromium.js';
import { makeUser } from '../helpers/oauth.js';

/**
 * Passkeys in a real browser: Chromium with its virtual authenticator (DevTools protocol,
 * WebAuthn.addVirtualAuthenticator), a platform authenticator that holds discoverable
 * credentials and verifies the person. The issuer is http://localhost:PORT: WebAuthn needs a
 * secure context and a domain for its relying party id, and localhost is both (127.0.0.1 is no
 * domain).
 */
describe.skipIf(!chromiumAvailable)('passkeys in a real browser', () => {
  let server: RunningServer;
  let ctx: AppContext;
  let browser: Browser;
  beforeAll(async () => {
    server = await startServer({ issuerHost: 'localhost' });
    ctx = server.app.tessera;
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  /** A new browser profile with a virtual platform authenticator. */
  async function withAuthenticator(): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext();
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: {
        protocol: 'ctap2',
        transport: 'internal',
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
        automaticPresenceSimulation: true,
      },
    });
    return { context, page };
  }

  it('registers a passkey on the account page, signs out, and signs in with "Use a passkey"', async () => {
    const { user, password } = await makeUser(ctx);
    const { context, page } = await withAuthenticator();

    await page.goto(`${server.url}/login`);
    await page.getByLabel('Username or email').fill(user.username);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.waitForURL(/\/account/);

    expect(await page.getByRole('heading', { name: 'Passkeys' }).count()).toBe(1);
    await page.getByLabel('Passkey name').fill('Chromium virtual key');
    await page.getByRole('button', { name: 'Add a passkey' }).click();
    await page.waitForURL(/notice=passkey-added/);
    expect(await page.getByText('Your passkey has been added.').count()).toBe(1);
    expect(await page.locator('ul.passkeys strong').allTextContents()).toEqual([
      'Chromium virtual key',
    ]);
    await page.screenshot({
      path: join(RESULTS, 'accounts-passkey-registered.png'),
      fullPage: true,
    });
    const [passkey] = await ctx.store.passkeys.listForUser(user.id);
    expect(passkey?.name).toBe('Chromium virtual key');

    // Signed out, the sign-in page offers the passkey in the username field's autofill
    // (conditional UI); the virtual authenticator picks it at once, and the person is in.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/account/);
    expect(await page.getByText(`Signed in as ${user.username}`).count()).toBe(1);

    // Where the browser has no conditional UI, the button does it.
    await page.addInitScript(
      'PublicKeyCredential.isConditionalMediationAvailable = async () => false;',
    );
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/login/);
    const button = page.getByRole('button', { name: 'Use a passkey' });
    await button.waitFor({ state: 'visible' });
    expect(await page.getByLabel('Username or email').getAttribute('autocomplete')).toBe(
      'username webauthn',
    );
    await page.screenshot({ path: join(RESULTS, 'accounts-passkey-sign-in.png'), fullPage: true });
    await button.click();
    await page.waitForURL(/\/account/);
    expect(await page.getByText(`Signed in as ${user.username}`).count()).toBe(1);
    await page.screenshot({
      path: join(RESULTS, 'accounts-passkey-signed-in.png'),
      fullPage: true,
    });

    const sessions = await ctx.store.sessions.listActiveForUser(user.id, Date.now() / 1000);
    // Chromium's virtual authenticator keeps its passkeys on the device (no backup): hwk.
    expect(sessions.map((s) => s.amr)).toEqual([['hwk', 'mfa']]);
    expect((await ctx.store.passkeys.findById(passkey!.id))?.lastUsedAt).not.toBeNull();
    await context.close();
  });

  it('with a sign-in older than TESSERA_REAUTH_SECONDS, adding a passkey asks for the password first', async () => {
    // 0: every change of sign-in factors asks, however recent the sign-in.
    const strict = await startServer({
      issuerHost: 'localhost',
      env: { TESSERA_REAUTH_SECONDS: '0' },
    });
    try {
      const { user, password } = await makeUser(strict.app.tessera);
      const { context, page } = await withAuthenticator();
      await page.goto(`${strict.url}/login`);
      await page.getByLabel('Username or email').fill(user.username);
      await page.getByLabel('Password', { exact: true }).fill(password);
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
      await page.waitForURL(/\/account/);
      await page.getByLabel('Passkey name').fill('Laptop');
      const confirm = page.locator('#passkey-add-confirmation');
      await confirm.fill('not my password');
      await page.getByRole('button', { name: 'Add a passkey' }).click();
      const alert = page.locator('#passkey-error');
      await alert.waitFor({ state: 'visible' });
      expect(await alert.textContent()).toContain('That password or code is not right.');
      await page.screenshot({ path: join(RESULTS, 'accounts-passkey-reauth.png'), fullPage: true });
      expect(await strict.app.tessera.store.passkeys.listForUser(user.id)).toEqual([]);
      await confirm.fill(password);
      await page.getByRole('button', { name: 'Add a passkey' }).click();
      await page.waitForURL(/notice=passkey-added/);
      expect(await strict.app.tessera.store.passkeys.listForUser(user.id)).toHaveLength(1);
      await context.close();
    } finally {
      await strict.close();
    }
  });

  it('says in its alert when the browser holds no passkey for the site', async () => {
    const { context, page } = await withAuthenticator();
    await page.goto(`${server.url}/login`);
    // The virtual authenticator answers at once that it has nothing: the browser reports it as
    // NotAllowedError, which the page explains in its alert.
    await page.getByRole('button', { name: 'Use a passkey' }).click();
    const alert = page.locator('#passkey-error');
    await alert.waitFor({ state: 'visible', timeout: 15_000 });
    expect(await alert.getAttribute('role')).toBe('alert');
    expect((await alert.textContent())?.length).toBeGreaterThan(0);
    await page.screenshot({ path: join(RESULTS, 'accounts-passkey-error.png'), fullPage: true });
    await context.close();
  });
});
