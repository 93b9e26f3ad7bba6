import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { createApi } from '../../src/domain/apis.js';
import { type RunningServer, startServer } from '../helpers/app.js';
import { Browser, type Page, readForms } from '../helpers/browser.js';
import { TEST_ADMIN_KEY } from '../helpers/config.js';
import { answerDevice, DEVICE_GRANT } from '../helpers/device.js';
import {
  makeClient,
  makeUser,
  pkce,
  postAsClient,
  REDIRECT_URI,
  redirectParams,
  signInBrowser,
  type TestClient,
} from '../helpers/oauth.js';

const ORDERS = 'https://orders.example.com/';
const MAIL = 'https://mail.example.com/';
/** An API with no scopes of its own: a token for it still reaches it. */
const PING = 'https://ping.example.com/';

/**
 * Consent for APIs (docs/apis.md, "Consent for APIs"): the grant remembers the APIs a person
 * allowed an app to reach, and a request naming another one shows the consent page, whatever
 * the scopes it asks for. Against a listening Tessera, the person answering over HTTP.
 */
describe('consent for APIs (RFC 8707 resources)', () => {
  let server: RunningServer;
  let ctx: AppContext;

  beforeAll(async () => {
    server = await startServer({ env: { TESSERA_DEVICE_FLOW: 'true' } });
    ctx = server.app.tessera;
    await createApi(ctx, { identifier: ORDERS, name: 'Orders API', scopes: ['orders:read'] });
    await createApi(ctx, { identifier: MAIL, name: 'Mail API', scopes: ['mail:read'] });
    await createApi(ctx, { identifier: PING, name: 'Ping API', scopes: [] });
  });
  afterAll(async () => server.close());

  const shop = (overrides: Parameters<typeof makeClient>[1] = {}) =>
    makeClient(ctx, {
      name: 'Shop App',
      grantTypes: ['authorization_code', 'refresh_token', DEVICE_GRANT],
      allowedResources: [ORDERS, MAIL, PING],
      ...overrides,
    });

  async function signedIn() {
    const { user } = await makeUser(ctx);
    const browser = new Browser(server.url);
    await signInBrowser(ctx, browser, user);
    return { user, browser };
  }

  /** /authorize for `scope` and `resources`, as the person's browser sends it. */
  async function ask(
    browser: Browser,
    tc: TestClient,
    scope: string,
    resources: string[],
    extra: Record<string, string> = {},
  ) {
    const { verifier, challenge } = pkce();
    const query = new URLSearchParams({
      response_type: 'code',
      client_id: tc.client.id,
      redirect_uri: REDIRECT_URI,
      scope,
      state: 'st',
      code_challenge: challenge,
      code_challenge_method: 'S256',
      ...extra,
    });
    for (const resource of resources) query.append('resource', resource);
    const page = await browser.get(`/authorize?${query}`);
    /** The code of a redirect to the client, exchanged for tokens (for `resource`, if given). */
    const redeem = async (callback: Page, resource?: string) => {
      const code = redirectParams(callback).get('code');
      expect(code, callback.location).toBeTruthy();
      return postAsClient(server.url, '/token', tc, {
        grant_type: 'authorization_code',
        code: code!,
        redirect_uri: REDIRECT_URI,
        code_verifier: verifier,
        resource,
      });
    };
    return { page, redeem };
  }

  /** The APIs a consent page lists, each as "New <identifier>" or "<identifier>". */
  function listedApis(page: Page): string[] {
    const list = /<ul class="apis" aria-label="APIs">([\s\S]*?)<\/ul>/.exec(page.text);
    if (!list) return [];
    return [...list[1]!.matchAll(/<li>([\s\S]*?)<\/li>/g)].map((item) => {
      const isNew = item[1]!.includes('<span class="new">New</span>');
      return `${isNew ? 'New ' : ''}${/<code>([^<]+)<\/code>/.exec(item[1]!)![1]}`;
    });
  }

  const grantOf = (userId: string, clientId: string) => ctx.store.grants.find(userId, clientId);

  /** A first consent to `scope` for `resources`, answered Allow. */
  async function consentOnce(browser: Browser, tc: TestClient, scope: string, resources: string[]) {
    const first = await ask(browser, tc, scope, resources);
    expect(first.page.status, first.page.text.slice(0, 300)).toBe(200);
    const callback = await browser.submit(first.page, {}, 'Allow');
    expect(redirectParams(callback).get('code')).toBeTruthy();
  }

  it('an app with consent for the scopes asks for a new API: the page names it as new; after Allow, no page', async () => {
    const tc = await shop();
    const { user, browser } = await signedIn();
    // Consented to orders:read for Tessera itself (no resource): no API yet.
    await consentOnce(browser, tc, 'openid orders:read', []);
    expect(await grantOf(user.id, tc.client.id)).toMatchObject({
      scopes: ['openid', 'orders:read'],
      resources: [],
    });

    // The same scopes, now for the Orders API: a token that reaches it needs the person's word.
    const silent = await ask(browser, tc, 'openid orders:read', [ORDERS], { prompt: 'none' });
    expect(redirectParams(silent.page).get('error')).toBe('consent_required');
    const later = await ask(browser, tc, 'openid orders:read', [ORDERS]);
    expect(later.page.status).toBe(200);
    expect(listedApis(later.page)).toEqual([`New ${ORDERS}`]);
    expect(later.page.text).toContain('<span class="new">New</span> <strong>Orders API</strong>');
    expect(later.page.text).toContain('to reach an API you have not allowed it to reach');
    // The scopes are listed as allowed before, not asked again.
    expect(later.page.text).toContain('aria-label="Already allowed"');

    const tokens = await later.redeem(await browser.submit(later.page, {}, 'Allow'), ORDERS);
    expect(tokens.status, tokens.text).toBe(200);
    expect(decodeJwt(tokens.body.access_token as string)).toMatchObject({ aud: ORDERS });
    expect((await grantOf(user.id, tc.client.id))?.resources).toEqual([ORDERS]);

    // Allowed now: the same request goes straight through, and so does one naming no API.
    const again = await ask(browser, tc, 'openid orders:read', [ORDERS]);
    expect(again.page.status).toBe(302);
    expect((await again.redeem(again.page, ORDERS)).status).toBe(200);
    expect((await ask(browser, tc, 'openid', [])).page.status).toBe(302);
  });

  it('one new API among several allowed: only it is marked new, and Allow adds it to the others', async () => {
    const tc = await shop();
    const { user, browser } = await signedIn();
    await consentOnce(browser, tc, 'openid orders:read', [ORDERS]);
    const later = await ask(browser, tc, 'openid orders:read mail:read', [ORDERS, MAIL]);
    expect(later.page.status).toBe(200);
    expect(listedApis(later.page)).toEqual([ORDERS, `New ${MAIL}`]);
    expect(later.page.text).toContain('asks for more than you allowed it before');
    await browser.submit(later.page, {}, 'Allow');
    expect(await grantOf(user.id, tc.client.id)).toMatchObject({
      scopes: ['openid', 'orders:read', 'mail:read'],
      resources: [ORDERS, MAIL],
    });
    expect(
      (await ask(browser, tc, 'openid mail:read', [MAIL], { prompt: 'none' })).page.status,
    ).toBe(302);
  });

  it('an API listed as allowed before but revoked while the page was open: Allow asks again', async () => {
    const tc = await shop();
    const { user, browser } = await signedIn();
    await consentOnce(browser, tc, 'openid', [ORDERS]);
    const later = await ask(browser, tc, 'openid', [ORDERS, PING]);
    expect(listedApis(later.page)).toEqual([ORDERS, `New ${PING}`]);
    const grant = await grantOf(user.id, tc.client.id);
    await ctx.store.grants.revoke(grant!.id, Math.floor(Date.now() / 1000));
    // The Allow stood for PING only: ORDERS is asked again, as new, and nothing is written.
    const again = await browser.submit(later.page, {}, 'Allow');
    expect(again.status).toBe(200);
    expect(listedApis(again)).toEqual([ORDERS, PING]);
    expect(await grantOf(user.id, tc.client.id)).toBeUndefined();
  });

  it('Deny keeps the earlier grant as it was, and the API stays out of reach', async () => {
    const tc = await shop();
    const { user, browser } = await signedIn();
    await consentOnce(browser, tc, 'openid orders:read', [ORDERS]);
    const before = await grantOf(user.id, tc.client.id);

    const later = await ask(browser, tc, 'openid', [PING]);
    expect(listedApis(later.page)).toEqual([`New ${PING}`]);
    const denied = await browser.submit(later.page, {}, 'Deny');
    expect(redirectParams(denied).get('error')).toBe('access_denied');
    expect(await grantOf(user.id, tc.client.id)).toEqual(before);

    const silent = await ask(browser, tc, 'openid', [PING], { prompt: 'none' });
    expect(redirectParams(silent.page).get('error')).toBe('consent_required');
    // What was allowed before still goes through.
    expect((await ask(browser, tc, 'openid orders:read', [ORDERS])).page.status).toBe(302);
  });

  it('an API with no scopes is never reached without consent', async () => {
    const tc = await shop();
    const { user, browser } = await signedIn();
    await consentOnce(browser, tc, 'openid', []);

    // Asked for by an app the person allowed "openid": no new scope, still a new API.
    const silent = await ask(browser, tc, 'openid', [PING], { prompt: 'none' });
    expect(redirectParams(silent.page).get('error')).toBe('consent_required');
    const later = await ask(browser, tc, 'openid', [PING]);
    expect(later.page.status).toBe(200);
    expect(listedApis(later.page)).toEqual([`New ${PING}`]);
    // Nor can the code of a request that did not name it buy a token for it.
    const plain = await ask(browser, tc, 'openid', []);
    const refused = await plain.redeem(plain.page, PING);
    expect(refused.status).toBe(400);
    expect(refused.body.error).toBe('invalid_target');

    const tokens = await later.redeem(await browser.submit(later.page, {}, 'Allow'), PING);
    expect(tokens.status, tokens.text).toBe(200);
    expect(decodeJwt(tokens.body.access_token as string).aud).toBe(PING);
    expect((await grantOf(user.id, tc.client.id))?.resources).toEqual([PING]);
  });

  it('a pushed request (PAR) naming a new API shows the consent page too', async () => {
    const tc = await shop();
    const { browser } = await signedIn();
    await consentOnce(browser, tc, 'openid', []);
    const { challenge } = pkce();
    const pushed = await postAsClient(server.url, '/par', tc, {
      client_id: tc.client.id,
      response_type: 'code',
      redirect_uri: REDIRECT_URI,
      scope: 'openid',
      state: 'st',
      code_challenge: challenge,
      code_challenge_method: 'S256',
      resource: PING,
    });
    expect(pushed.status, pushed.text).toBe(201);
    const query = new URLSearchParams({
      client_id: tc.client.id,
      request_uri: pushed.body.request_uri as string,
    });
    const page = await browser.get(`/authorize?${query}`);
    expect(page.status).toBe(200);
    expect(listedApis(page)).toEqual([`New ${PING}`]);
  });

  it('a first-party app registered by an admin skips consent for APIs as for scopes, and the grant records them', async () => {
    const tc = await shop({ firstParty: true });
    const { user, browser } = await signedIn();
    const first = await ask(browser, tc, 'openid orders:read', [ORDERS, PING]);
    expect(first.page.status).toBe(302);
    expect((await first.redeem(first.page, PING)).status).toBe(200);
    expect((await grantOf(user.id, tc.client.id))?.resources).toEqual([ORDERS, PING]);
  });

  it('a self-registered client that an admin marked first party still sees the consent page', async () => {
    const tc = await shop({ registration: 'dynamic' });
    const marked = await fetch(`${server.url}/admin/api/clients/${tc.client.id}`, {
      method: 'PATCH',
      headers: { 'x-admin-key': TEST_ADMIN_KEY, 'content-type': 'application/json' },
      body: JSON.stringify({ first_party: true }),
    });
    expect(marked.status, await marked.clone().text()).toBe(200);
    expect(((await marked.json()) as { first_party: boolean }).first_party).toBe(true);

    const { user, browser } = await signedIn();
    // Neither for a new scope nor for a new API.
    const first = await ask(browser, tc, 'openid', []);
    expect(first.page.status).toBe(200);
    expect(first.page.text).toContain('Shop App');
    await browser.submit(first.page, {}, 'Allow');
    const silent = await ask(browser, tc, 'openid', [PING], { prompt: 'none' });
    expect(redirectParams(silent.page).get('error')).toBe('consent_required');
    const later = await ask(browser, tc, 'openid', [PING]);
    expect(later.page.status).toBe(200);
    expect(listedApis(later.page)).toEqual([`New ${PING}`]);
    expect((await grantOf(user.id, tc.client.id))?.resources).toEqual([]);
  });

  it('the device flow records the APIs allowed on the grant', async () => {
    const tc = await shop();
    const { user, browser } = await signedIn();
    const started = await postAsClient(server.url, '/device_authorization', tc, {
      scope: 'openid orders:read',
      resource: ORDERS,
    });
    expect(started.status, started.text).toBe(200);
    await answerDevice(browser, started.body.user_code as string, 'Allow');
    expect(await grantOf(user.id, tc.client.id)).toMatchObject({
      scopes: ['openid', 'orders:read'],
      resources: [ORDERS],
    });
    // The browser's request for the same needs no page now; another API does.
    expect((await ask(browser, tc, 'openid orders:read', [ORDERS])).page.status).toBe(302);
    expect((await ask(browser, tc, 'openid orders:read', [MAIL])).page.status).toBe(200);
  });

  it('"Revoke access" forgets the APIs: the next request for one asks again', async () => {
    const tc = await shop();
    const { user, browser } = await signedIn();
    await consentOnce(browser, tc, 'openid', [ORDERS]);
    const grant = await grantOf(user.id, tc.client.id);
    const account = await browser.get('/account');
    // "Connected apps" says which APIs the app may reach.
    expect(account.text).toContain(`openid <span class="muted">for ${ORDERS}</span>`);
    const form = readForms(account.text, account.url).find(
      (f) => f.action.endsWith('/account/apps/revoke') && f.fields.grant_id === grant!.id,
    )!;
    expect((await browser.post(form.action, form.fields)).status).toBe(303);
    expect(await grantOf(user.id, tc.client.id)).toBeUndefined();
    const again = await ask(browser, tc, 'openid', [ORDERS]);
    expect(again.page.status).toBe(200);
    // Nothing is allowed any more: a plain first question, nothing marked new.
    expect(listedApis(again.page)).toEqual([ORDERS]);
  });
});
