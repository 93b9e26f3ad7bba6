import { createServer } from 'node:http';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { startSession } from '../../src/domain/sessions.js';
import { type RunningServer, startServer } from '../helpers/app.js';
import { chromiumAvailable, launchChromium } from '../helpers/chromium.js';
import { makeClient, makeUser, pkce } from '../helpers/oauth.js';

/**
 * A real browser (headless Chromium) through the pages a person meets: sign-up,
 * consent, the account page with its connected apps, and sign-out. Everything by
 * labels and button names, as assistive technology would.
 */
describe.skipIf(!chromiumAvailable)('pages in a real browser', () => {
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

  async function newPage(): Promise<Page> {
    const context = await browser.newContext();
    return context.newPage();
  }

  it('signs up, authorizes an app on the consent page, sees it under Connected apps and revokes it', async () => {
    const { client } = await makeClient(ctx, { name: 'Browser Test App' });
    const page = await newPage();
    const { challenge } = pkce();
    const authorize = `${server.url}/authorize?${new URLSearchParams({
      response_type: 'code',
      client_id: client.id,
      redirect_uri: client.redirectUris[0]!,
      scope: 'openid profile email',
      state: 'browser-state',
      code_challenge: challenge,
      code_challenge_method: 'S256',
    })}`;

    await page.goto(
      `${server.url}/signup?return_to=${encodeURIComponent(authorize.slice(server.url.length))}`,
    );
    await page.getByLabel('First name').fill('Grace');
    await page.getByLabel('Last name').fill('Hopper');
    await page.getByLabel('Username').fill('grace');
    await page.getByLabel('Phone').fill('+1 555 0100');
    await page.getByLabel('Email').fill('grace@example.com');
    await page.getByLabel('Password').fill('cobol is forever 1959');
    await page.getByRole('button', { name: 'Create account' }).click();

    await page.waitForURL(/\/authorize/);
    expect(await page.content()).toContain('Browser Test App');
    // Nobody serves the client's redirect URI here: the test plays the client and answers it.
    await page.route(`${client.redirectUris[0]}**`, (route) =>
      route.fulfill({ status: 200, contentType: 'text/plain', body: 'signed in' }),
    );
    await page.getByRole('button', { name: 'Allow' }).click();
    await page.waitForURL((url) => url.toString().startsWith(client.redirectUris[0]!));
    const callback = new URL(page.url());
    expect(callback.searchParams.get('code')).toBeTruthy();
    expect(callback.searchParams.get('state')).toBe('browser-state');
    expect(callback.searchParams.get('iss')).toBe(server.url);

    await page.goto(`${server.url}/account`);
    expect(await page.getByRole('heading', { name: 'Connected apps' }).count()).toBe(1);
    expect(await page.getByRole('cell', { name: 'Browser Test App' }).count()).toBe(1);
    await page.getByRole('button', { name: 'Revoke access' }).click();
    await page.waitForURL(/notice=revoked/);
    expect(await page.getByRole('cell', { name: 'Browser Test App' }).count()).toBe(0);

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/login/);
    await page.getByLabel('Username or email').fill('grace@example.com');
    await page.getByLabel('Password').fill('cobol is forever 1959');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/account/);
    expect(await page.content()).toContain('grace@example.com');
  });

  it('prompt=select_account: the chooser names the person, and "Use another account" signs someone else in and goes on', async () => {
    const { client } = await makeClient(ctx, { name: 'Chooser App', firstParty: true });
    const { user: first } = await makeUser(ctx);
    const { user: second, password } = await makeUser(ctx);
    const { secret } = await startSession(ctx, { userId: first.id, amr: ['pwd'] });
    const context = await browser.newContext();
    await context.addCookies([{ name: 'tessera_session', value: secret, url: server.url }]);
    const page = await context.newPage();
    await page.route(`${client.redirectUris[0]}**`, (route) =>
      route.fulfill({ status: 200, contentType: 'text/plain', body: 'signed in' }),
    );
    await page.goto(
      `${server.url}/authorize?${new URLSearchParams({
        response_type: 'code',
        client_id: client.id,
        redirect_uri: client.redirectUris[0]!,
        scope: 'openid',
        state: 'chooser',
        prompt: 'select_account',
      })}`,
    );
    expect(await page.getByRole('heading', { name: 'Choose an account' }).count()).toBe(1);
    expect(await page.content()).toContain('Chooser App');
    expect(await page.getByRole('button', { name: `Continue as ${first.username}` }).count()).toBe(
      1,
    );
    await page.getByRole('button', { name: 'Use another account' }).click();
    await page.waitForURL(/\/login/);
    await page.getByLabel('Username or email').fill(second.username);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL((url) => url.toString().startsWith(client.redirectUris[0]!));
    const callback = new URL(page.url());
    expect(callback.searchParams.get('code')).toBeTruthy();
    expect(callback.searchParams.get('state')).toBe('chooser');
    await context.close();
  });

  it('the form_post response submits itself', async () => {
    const { client } = await makeClient(ctx, {
      firstParty: true,
      redirectUris: [`${server.url}/healthz`],
    });
    const page = await newPage();
    await page.goto(`${server.url}/signup`);
    await page.getByLabel('Username').fill('formpost');
    await page.getByLabel('Email').fill('formpost@example.com');
    await page.getByLabel('Password').fill('a long enough password');
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.waitForURL(/\/account/);
    const posted = page.waitForRequest(
      (r) => r.url() === `${server.url}/healthz` && r.method() === 'POST',
    );
    await page.goto(
      `${server.url}/authorize?${new URLSearchParams({
        response_type: 'code',
        response_mode: 'form_post',
        client_id: client.id,
        redirect_uri: `${server.url}/healthz`,
        scope: 'openid',
        state: 'fp',
      })}`,
    );
    const request = await posted;
    const body = new URLSearchParams(request.postData() ?? '');
    expect(body.get('code')).toBeTruthy();
    expect(body.get('state')).toBe('fp');
  });

  it('the form_post page may post to a client on another origin, which may then redirect within itself', async () => {
    // The client's callback answers the post with a redirect to its home page, as apps do.
    const app = createServer((req, res) => {
      if (req.method === 'POST') res.writeHead(303, { location: '/home' }).end();
      else res.writeHead(200, { 'content-type': 'text/html' }).end('<p>home</p>');
    });
    await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
    const address = app.address();
    const origin = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    try {
      const { client } = await makeClient(ctx, {
        firstParty: true,
        redirectUris: [`${origin}/oauth/callback`],
      });
      const { user } = await makeUser(ctx);
      const { secret } = await startSession(ctx, { userId: user.id, amr: ['pwd'] });
      const context = await browser.newContext();
      await context.addCookies([{ name: 'tessera_session', value: secret, url: server.url }]);
      const page = await context.newPage();
      const posted = page.waitForRequest((r) => r.url() === `${origin}/oauth/callback`);
      const home = page.waitForRequest((r) => r.url() === `${origin}/home`);
      await page.goto(
        `${server.url}/authorize?${new URLSearchParams({
          response_type: 'code',
          response_mode: 'form_post',
          client_id: client.id,
          redirect_uri: `${origin}/oauth/callback`,
          scope: 'openid',
          state: 'cross',
        })}`,
      );
      const body = new URLSearchParams((await posted).postData() ?? '');
      expect(body.get('code')).toBeTruthy();
      expect(body.get('state')).toBe('cross');
      await home;
      await context.close();
    } finally {
      await new Promise((resolve) => app.close(resolve));
    }
  });
});
