import { mkdirSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { startSession } from '../../src/domain/sessions.js';
import { type RunningServer, startServer } from '../helpers/app.js';
import { chromiumAvailable, launchChromium } from '../helpers/chromium.js';
import { basicAuth, makeClient, makeUser, pkce, postForm } from '../helpers/oauth.js';

/**
 * The incremental consent page in a real browser: what is asked now marked "New", apart from
 * what was allowed before, read by role and name as assistive technology reads it. Leaves a
 * screenshot in test-results/incremental-consent.png.
 */
describe.skipIf(!chromiumAvailable)('the incremental consent page in a real browser', () => {
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

  it('asks only for e-mail, marked New, and lists the profile as allowed before', async () => {
    const { client, secret } = await makeClient(ctx, { name: 'Photo App' });
    const { user } = await makeUser(ctx);
    const session = await startSession(ctx, { userId: user.id, amr: ['pwd'] });
    const context = await browser.newContext({ viewport: { width: 800, height: 720 } });
    await context.addCookies([{ name: 'tessera_session', value: session.secret, url: server.url }]);
    const page = await context.newPage();
    await page.route(`${client.redirectUris[0]}**`, (route) =>
      route.fulfill({ status: 200, contentType: 'text/plain', body: 'back at the app' }),
    );

    const authorize = async (scope: string, extra: Record<string, string>) => {
      const { verifier, challenge } = pkce();
      await page.goto(
        `${server.url}/authorize?${new URLSearchParams({
          response_type: 'code',
          client_id: client.id,
          redirect_uri: client.redirectUris[0]!,
          scope,
          state: 'st',
          code_challenge: challenge,
          code_challenge_method: 'S256',
          ...extra,
        })}`,
      );
      return verifier;
    };
    const allow = async (p: Page, verifier: string) => {
      await p.getByRole('button', { name: 'Allow' }).click();
      await p.waitForURL((url) => url.toString().startsWith(client.redirectUris[0]!));
      const code = new URL(p.url()).searchParams.get('code')!;
      const tokens = await postForm(
        server.url,
        '/token',
        {
          grant_type: 'authorization_code',
          code,
          redirect_uri: client.redirectUris[0]!,
          code_verifier: verifier,
        },
        { authorization: basicAuth(client.id, secret!) },
      );
      expect(tokens.status, tokens.text).toBe(200);
      return tokens.body.scope;
    };

    // First, the profile: a plain question, nothing marked New.
    const first = await authorize('openid profile', {});
    expect(await page.getByRole('list', { name: 'Asked for' }).count()).toBe(1);
    expect(await page.getByText('New', { exact: true }).count()).toBe(0);
    expect(await allow(page, first)).toBe('openid profile');

    // Later, the e-mail address too.
    const later = await authorize('openid email', { include_granted_scopes: 'true' });
    const asked = page.getByRole('list', { name: 'New' });
    expect(await asked.getByRole('listitem').allInnerTexts()).toEqual([
      'New See your e-mail address (email)',
    ]);
    const before = page.getByRole('list', { name: 'Already allowed' });
    expect(await before.getByRole('listitem').allInnerTexts()).toEqual([
      'Know who you are (your account identifier) (openid)',
      'See your profile: name, username and other profile details (profile)',
    ]);
    expect(await page.getByRole('heading', { name: 'Already allowed' }).count()).toBe(1);
    mkdirSync('test-results', { recursive: true });
    await page.screenshot({ path: 'test-results/incremental-consent.png', fullPage: true });
    expect(await allow(page, later)).toBe('openid profile email');
    await context.close();
  });
});
