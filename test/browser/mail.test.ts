import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, startServer } from '../helpers/app.js';
import { chromiumAvailable, launchChromium, RESULTS } from '../helpers/chromium.js';

/**
 * The development outbox and "Recent security activity" in a real browser: a sign-in from a
 * second browser is mailed (kept in the outbox, its account link clickable) and listed.
 */
describe.skipIf(!chromiumAvailable)('mail and security activity in a real browser', () => {
  let server: RunningServer;
  let browser: Browser;
  beforeAll(async () => {
    server = await startServer({
      env: { NODE_ENV: 'development', TESSERA_SITE_NAME: 'Example ID' },
    });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('shows a new-device notice in the outbox, with a link to the account page that lists it', async () => {
    const first = await (await browser.newContext()).newPage();
    await first.goto(`${server.url}/signup`);
    await first.getByLabel('Username').fill('hedy');
    await first.getByLabel('Email').fill('hedy@example.com');
    await first.getByLabel('Password').fill('frequency hopping 1942');
    await first.getByRole('button', { name: 'Create account' }).click();
    await first.waitForURL(`${server.url}/account`);

    const second = await (await browser.newContext()).newPage();
    await second.goto(`${server.url}/login`);
    await second.getByLabel('Username or email').fill('hedy');
    await second.getByLabel('Password').fill('frequency hopping 1942');
    await second.getByRole('button', { name: 'Sign in' }).click();
    await second.waitForURL(`${server.url}/account`);
    await server.app.tessera.mail.drain();

    await second.goto(`${server.url}/dev/outbox`);
    const subject = 'Example ID: New sign-in from a device not used before';
    expect(await second.getByRole('heading', { name: subject }).count()).toBe(1);
    await second.screenshot({ path: join(RESULTS, 'mail-outbox.png'), fullPage: true });
    await second
      .getByRole('link', { name: `${server.url}/account` })
      .first()
      .click();
    await second.waitForURL(`${server.url}/account`);
    const activity = second.getByRole('region', { name: 'Recent security activity' });
    expect(await activity.getByText('New sign-in from a device not used before').count()).toBe(1);
    await second.screenshot({ path: join(RESULTS, 'security-activity.png'), fullPage: true });
  });
});
