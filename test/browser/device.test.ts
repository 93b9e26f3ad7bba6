import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { type RunningServer, startServer } from '../helpers/app.js';
import { chromiumAvailable, launchChromium, RESULTS } from '../helpers/chromium.js';
import { authorizeDevice, DEVICE_GRANT, pollToken } from '../helpers/device.js';
import { makeClient, makeUser } from '../helpers/oauth.js';

/**
 * The device flow's pages in headless Chromium, as a person meets them: the device shows a code,
 * the person types it into "Code", presses Continue, signs in, allows, and the device's next poll
 * gets its tokens. By labels and button names only.
 */
describe.skipIf(!chromiumAvailable)('device pages in a real browser', () => {
  let server: RunningServer;
  let ctx: AppContext;
  let browser: Browser;
  beforeAll(async () => {
    server = await startServer({ env: { TESSERA_DEVICE_INTERVAL: '1' } });
    ctx = server.app.tessera;
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  const deviceClient = (name: string) =>
    makeClient(ctx, {
      type: 'public',
      tokenEndpointAuthMethod: 'none',
      redirectUris: [],
      grantTypes: [DEVICE_GRANT, 'refresh_token'],
      name,
    });

  it('types the user code, presses Continue, signs in, allows; the poll then succeeds', async () => {
    const tc = await deviceClient('Garage Terminal');
    const { user, password } = await makeUser(ctx);
    const started = await authorizeDevice(server.url, tc, 'openid profile');
    const page = await (await browser.newContext()).newPage();

    await page.goto(`${server.url}/device`);
    expect(await page.getByRole('heading', { name: 'Connect a device' }).count()).toBe(1);
    // Typed as a person might: lower case, no dash.
    await page.getByLabel('Code').fill(started.user_code.replace('-', '').toLowerCase());
    await page.getByRole('button', { name: 'Continue' }).click();

    await page.waitForURL(/\/login/);
    await page.getByLabel('Username or email').fill(user.username);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();

    await page.waitForURL(/\/device\/confirm/);
    expect(
      await page.getByRole('heading', { name: 'A device is asking to use your account' }).count(),
    ).toBe(1);
    expect(await page.content()).toContain('Garage Terminal');
    await page.screenshot({ path: join(RESULTS, 'device-consent.png'), fullPage: true });
    expectOAuthPending(await pollToken(server.url, tc, started.device_code));

    await page.getByRole('button', { name: 'Allow' }).click();
    await page.getByRole('heading', { name: 'Device connected' }).waitFor();
    await page.screenshot({ path: join(RESULTS, 'device-connected.png'), fullPage: true });

    await new Promise((resolve) => setTimeout(resolve, 1000));
    const tokens = await pollToken(server.url, tc, started.device_code);
    expect(tokens.status, tokens.text).toBe(200);
    expect(tokens.body.id_token).toBeTypeOf('string');
    expect(tokens.body.scope).toBe('openid profile');
  });

  it('verification_uri_complete fills in the code but Continue is still the person’s to press', async () => {
    const tc = await deviceClient('Hall Speaker');
    const started = await authorizeDevice(server.url, tc, 'openid');
    const page = await (await browser.newContext()).newPage();
    await page.goto(started.verification_uri_complete);
    expect(await page.getByLabel('Code').inputValue()).toBe(started.user_code);
    expect(page.url()).toContain('/device?user_code=');
    await page.screenshot({ path: join(RESULTS, 'device-code.png'), fullPage: true });
  });

  it('says a wrong code is not valid', async () => {
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${server.url}/device`);
    await page.getByLabel('Code').fill('BBBB-BBBB');
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('alert').waitFor();
    expect(await page.getByRole('alert').textContent()).toContain(
      'That code is not valid or has expired',
    );
  });
});

function expectOAuthPending(res: { status: number; body: Record<string, unknown> }): void {
  expect(res.status).toBe(400);
  expect(res.body.error).toBe('authorization_pending');
}
