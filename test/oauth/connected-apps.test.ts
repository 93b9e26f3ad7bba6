import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { type RunningServer, startServer } from '../helpers/app.js';
import { Browser, readForms } from '../helpers/browser.js';
import {
  basicAuth,
  makeClient,
  makeUser,
  obtainCode,
  postForm,
  REDIRECT_URI,
  signInBrowser,
} from '../helpers/oauth.js';

/** Issue 3 point 10 and seed 001's "Manage Connected Apps" → deauthorise. */
describe('connected apps on the account page', () => {
  let server: RunningServer;
  let ctx: AppContext;
  beforeAll(async () => {
    server = await startServer();
    ctx = server.app.tessera;
  });
  afterAll(async () => server.close());

  async function connect(browser: Browser, name: string) {
    const made = await makeClient(ctx, { name });
    const code = await obtainCode(browser, made.client, { scope: 'openid email' });
    const tokens = await postForm(
      server.url,
      '/token',
      { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI },
      { authorization: basicAuth(made.client.id, made.secret!) },
    );
    expect(tokens.status).toBe(200);
    return { ...made, tokens: tokens.body as Record<string, string> };
  }

  const active = async (client: { id: string }, secret: string, token: string) =>
    (
      await postForm(
        server.url,
        '/introspect',
        { token },
        { authorization: basicAuth(client.id, secret) },
      )
    ).body.active;

  it('lists each granted app with its scopes and dates, and Revoke access cuts it off', async () => {
    const { user } = await makeUser(ctx);
    const browser = new Browser(server.url);
    await signInBrowser(ctx, browser, user);
    const first = await connect(browser, 'Prescription Manager');
    const second = await connect(browser, 'Calendar Sync');

    const account = await browser.get('/account');
    expect(account.text).toContain('Connected apps');
    expect(account.text).toContain('Prescription Manager');
    expect(account.text).toContain('Calendar Sync');
    expect(account.text).toContain('openid email');
    const revokeForms = readForms(account.text, account.url).filter((f) =>
      f.action.endsWith('/account/apps/revoke'),
    );
    expect(revokeForms).toHaveLength(2);
    expect(revokeForms.every((f) => f.buttons.some((b) => b.label === 'Revoke access'))).toBe(true);

    // "Last used" is filled by the token exchange.
    expect((await ctx.store.grants.find(user.id, first.client.id))?.lastUsedAt).not.toBeNull();

    // Introspected once first: a token already seen must die with its grant at once.
    expect(await active(first.client, first.secret!, first.tokens.access_token!)).toBe(true);
    const grant = await ctx.store.grants.find(user.id, first.client.id);
    const form = revokeForms.find((f) => f.fields.grant_id === grant!.id)!;
    const done = await browser.post(form.action, form.fields);
    expect(done.status).toBe(303);
    expect(done.location).toBe(`${server.url}/account?notice=revoked`);

    const after = await browser.get('/account');
    expect(after.text).not.toContain('Prescription Manager');
    expect(after.text).toContain('Calendar Sync');
    expect(await ctx.store.grants.find(user.id, first.client.id)).toBeUndefined();

    // Every token under the revoked grant is dead; the other app is untouched.
    expect(await active(first.client, first.secret!, first.tokens.access_token!)).toBe(false);
    expect(await active(first.client, first.secret!, first.tokens.refresh_token!)).toBe(false);
    const refresh = await postForm(
      server.url,
      '/token',
      { grant_type: 'refresh_token', refresh_token: first.tokens.refresh_token },
      { authorization: basicAuth(first.client.id, first.secret!) },
    );
    expect(refresh.body.error).toBe('invalid_grant');
    expect(await active(second.client, second.secret!, second.tokens.access_token!)).toBe(true);

    // The app must ask again.
    const again = await browser.get(
      `/authorize?response_type=code&client_id=${first.client.id}&redirect_uri=${encodeURIComponent(REDIRECT_URI)}&scope=openid`,
    );
    expect(again.status).toBe(200);
    expect(again.text).toContain('Allow');
  });

  it('revokes an unused code under the grant too', async () => {
    const { user } = await makeUser(ctx);
    const browser = new Browser(server.url);
    await signInBrowser(ctx, browser, user);
    const { client, secret } = await makeClient(ctx);
    const code = await obtainCode(browser, client);
    const grant = await ctx.store.grants.find(user.id, client.id);
    const account = await browser.get('/account');
    const form = readForms(account.text, account.url).find((f) => f.fields.grant_id === grant!.id)!;
    await browser.post(form.action, form.fields);
    const exchange = await postForm(
      server.url,
      '/token',
      { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI },
      { authorization: basicAuth(client.id, secret!) },
    );
    expect(exchange.body.error).toBe('invalid_grant');
  });

  it("accepts seed 001's form that names the client_id", async () => {
    const { user } = await makeUser(ctx);
    const browser = new Browser(server.url);
    await signInBrowser(ctx, browser, user);
    const { client } = await connect(browser, 'Seed App');
    const account = await browser.get('/account');
    const csrf = readForms(account.text, account.url)[0]!.fields._csrf!;
    const done = await browser.post('/account/apps/revoke', { _csrf: csrf, client_id: client.id });
    expect(done.status).toBe(303);
    expect(await ctx.store.grants.find(user.id, client.id)).toBeUndefined();
  });

  it("cannot revoke another person's grant", async () => {
    const victim = await makeUser(ctx);
    const victimBrowser = new Browser(server.url);
    await signInBrowser(ctx, victimBrowser, victim.user);
    const { client } = await connect(victimBrowser, 'Victim App');
    const grant = await ctx.store.grants.find(victim.user.id, client.id);

    const attacker = await makeUser(ctx);
    const browser = new Browser(server.url);
    await signInBrowser(ctx, browser, attacker.user);
    const account = await browser.get('/account');
    const csrf = readForms(account.text, account.url)[0]!.fields._csrf!;
    const res = await browser.post('/account/apps/revoke', { _csrf: csrf, grant_id: grant!.id });
    expect(res.status).toBe(404);
    expect(await ctx.store.grants.find(victim.user.id, client.id)).toBeDefined();
  });

  it('sends a signed-out person to the sign-in page', async () => {
    const res = await new Browser(server.url).get('/account');
    expect(res.status).toBe(303);
    expect(new URL(res.location!).pathname).toBe('/login');
  });
});
