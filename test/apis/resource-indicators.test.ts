import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { createApi } from '../../src/domain/apis.js';
import type { Api } from '../../src/store/types.js';
import { type RunningServer, startServer } from '../helpers/app.js';
import { Browser } from '../helpers/browser.js';
import { DEVICE_GRANT, enterUserCode } from '../helpers/device.js';
import {
  authorizeAndConsent,
  basicAuth,
  expectOAuthError,
  introspect,
  makeClient,
  makeUser,
  pkce,
  postAsClient,
  postForm,
  REDIRECT_URI,
  redirectParams,
  refresh,
  signInBrowser,
  type TestClient,
} from '../helpers/oauth.js';

const ORDERS = 'https://orders.example.com/';
const MAIL = 'http://mail.internal:8080/api';
const OTHER = 'https://other.example.com/';

/** RFC 8707 resource indicators against a listening Tessera, with every refusal. */
describe('APIs and resource indicators', () => {
  let server: RunningServer;
  let ctx: AppContext;
  let orders: { api: Api; introspector: TestClient };
  let mail: { api: Api; introspector: TestClient };

  async function registerApi(input: Parameters<typeof createApi>[1]) {
    const { api, secret } = await createApi(ctx, input);
    const client = (await ctx.store.clients.findById(api.clientId))!;
    return { api, introspector: { client, secret } };
  }

  beforeAll(async () => {
    server = await startServer({ env: { TESSERA_DEVICE_FLOW: 'true' } });
    ctx = server.app.tessera;
    orders = await registerApi({
      identifier: ORDERS,
      name: 'Orders API',
      scopes: ['orders:read', 'orders:write'],
      accessTokenFormat: 'jwt',
      accessTokenTtl: 600,
    });
    mail = await registerApi({
      identifier: MAIL,
      name: 'Mail API',
      scopes: ['mail:read'],
      accessTokenFormat: 'opaque',
    });
    await registerApi({
      identifier: OTHER,
      name: 'Other API',
      scopes: ['other:read'],
      openToSelfRegistered: true,
    });
  });
  afterAll(async () => server.close());

  /** A confidential client allowed Orders and Mail (not Other), with the usual grants. */
  const shop = (overrides: Parameters<typeof makeClient>[1] = {}) =>
    makeClient(ctx, {
      grantTypes: ['authorization_code', 'refresh_token', 'client_credentials', DEVICE_GRANT],
      allowedResources: [ORDERS, MAIL],
      ...overrides,
    });

  /** /authorize with any parameters, `resource` repeated, for a signed-in browser. */
  async function authorize(
    tc: TestClient,
    resources: string[],
    extra: Record<string, string> = {},
  ) {
    const { user } = await makeUser(ctx);
    const browser = new Browser(server.url);
    await signInBrowser(ctx, browser, user);
    const { verifier, challenge } = pkce();
    const query = new URLSearchParams({
      response_type: 'code',
      client_id: tc.client.id,
      redirect_uri: REDIRECT_URI,
      scope: 'openid orders:read mail:read offline_access',
      state: 'st',
      code_challenge: challenge,
      code_challenge_method: 'S256',
      ...extra,
    });
    for (const resource of resources) query.append('resource', resource);
    const page = await authorizeAndConsent(browser, `/authorize?${query}`);
    return { params: redirectParams(page), verifier, user };
  }

  async function codeTokens(tc: TestClient, resources: string[], tokenResource?: string) {
    const { params, verifier, user } = await authorize(tc, resources);
    const code = params.get('code');
    expect(code, params.toString()).toBeTruthy();
    const res = await postAsClient(server.url, '/token', tc, {
      grant_type: 'authorization_code',
      code: code!,
      redirect_uri: REDIRECT_URI,
      code_verifier: verifier,
      resource: tokenResource,
    });
    return { res, user };
  }

  it('a code flow for one API: aud is its identifier, scope only its own, its lifetime; the ID token stays', async () => {
    const tc = await shop();
    const { res, user } = await codeTokens(tc, [ORDERS], ORDERS);
    expect(res.status, res.text).toBe(200);
    expect(res.body.scope).toBe('orders:read');
    expect(res.body.expires_in).toBe(600);
    const claims = decodeJwt(res.body.access_token as string);
    expect(claims).toMatchObject({ aud: ORDERS, scope: 'orders:read', sub: user.id });
    expect(decodeJwt(res.body.id_token as string).aud).toBe(tc.client.id);
  });

  it('without resource at /token, the one API the authorization named; with none at all, the issuer', async () => {
    const tc = await shop();
    const one = await codeTokens(tc, [ORDERS]);
    expect(decodeJwt(one.res.body.access_token as string).aud).toBe(ORDERS);
    const none = await codeTokens(tc, []);
    expect(none.res.status, none.res.text).toBe(200);
    const claims = decodeJwt(none.res.body.access_token as string);
    expect(claims.aud).toBe(server.url);
    // Tessera's own token keeps every granted scope, as before APIs existed.
    expect(claims.scope).toBe('openid orders:read mail:read offline_access');
  });

  it('an API with opaque tokens gets opaque ones, even for a JWT client', async () => {
    const tc = await shop();
    const { res } = await codeTokens(tc, [MAIL], MAIL);
    expect(res.status, res.text).toBe(200);
    expect(String(res.body.access_token).split('.')).toHaveLength(1);
    expect(res.body.scope).toBe('mail:read');
    const seen = await introspect(server.url, mail.introspector, res.body.access_token as string);
    expect(seen.body).toMatchObject({ active: true, aud: MAIL, scope: 'mail:read' });
  });

  it('an API introspects only tokens meant for it', async () => {
    const tc = await shop();
    const { res } = await codeTokens(tc, [ORDERS], ORDERS);
    const token = res.body.access_token as string;
    const own = await introspect(server.url, orders.introspector, token);
    expect(own.body).toMatchObject({ active: true, aud: ORDERS, scope: 'orders:read' });
    expect((await introspect(server.url, mail.introspector, token)).body).toEqual({
      active: false,
    });
    // A token for Tessera itself is no API's either.
    const issuers = await codeTokens(tc, []);
    const plain = issuers.res.body.access_token as string;
    expect((await introspect(server.url, orders.introspector, plain)).body).toEqual({
      active: false,
    });
  });

  it('several resources at /authorize: the token request names one; without, invalid_target', async () => {
    const tc = await shop();
    const both = await codeTokens(tc, [ORDERS, MAIL]);
    expectOAuthError(both.res, 400, 'invalid_target');
    expect(both.res.body.error_description).toContain('several resources');

    const chosen = await codeTokens(tc, [ORDERS, MAIL], MAIL);
    expect(chosen.res.status, chosen.res.text).toBe(200);
    expect(chosen.res.body.scope).toBe('mail:read');
    // The refresh token holds both: it narrows to either, one per request.
    const rt = chosen.res.body.refresh_token as string;
    const toOrders = await refresh(server.url, tc, rt, { resource: ORDERS });
    expect(toOrders.status, toOrders.text).toBe(200);
    expect(decodeJwt(toOrders.body.access_token as string)).toMatchObject({
      aud: ORDERS,
      scope: 'orders:read',
    });
    const toMail = await refresh(server.url, tc, toOrders.body.refresh_token as string, {
      resource: MAIL,
    });
    expect(toMail.status, toMail.text).toBe(200);
    expect(toMail.body.scope).toBe('mail:read');
  });

  it('the consent page names each API asked for, by name and identifier', async () => {
    const tc = await shop();
    const { user } = await makeUser(ctx);
    const browser = new Browser(server.url);
    await signInBrowser(ctx, browser, user);
    const query = new URLSearchParams({
      response_type: 'code',
      client_id: tc.client.id,
      redirect_uri: REDIRECT_URI,
      scope: 'openid orders:read mail:read',
      code_challenge: pkce().challenge,
      code_challenge_method: 'S256',
    });
    query.append('resource', ORDERS);
    query.append('resource', MAIL);
    const page = await browser.get(`/authorize?${query}`);
    expect(page.status).toBe(200);
    const apis = page.text.slice(page.text.indexOf('aria-label="APIs"'));
    expect(apis).toContain('<strong>Orders API</strong>');
    expect(apis).toContain(`<code>${ORDERS}</code>`);
    expect(apis).toContain('<strong>Mail API</strong>');
    expect(apis).toContain(`<code>${MAIL}</code>`);
  });

  it('refuses two resources in one token request', async () => {
    const tc = await shop();
    const { params, verifier } = await authorize(tc, [ORDERS, MAIL]);
    const body = new URLSearchParams({
      grant_type: 'authorization_code',
      code: params.get('code')!,
      redirect_uri: REDIRECT_URI,
      code_verifier: verifier,
    });
    body.append('resource', ORDERS);
    body.append('resource', MAIL);
    const res = await fetch(`${server.url}/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: basicAuth(tc.client.id, tc.secret!),
      },
      body,
    });
    expect(res.status).toBe(400);
    const answer = (await res.json()) as { error: string; error_description: string };
    expect(answer.error).toBe('invalid_target');
    expect(answer.error_description).toContain('one resource per token request');
  });

  it('refuses a resource at /token that the authorization did not name', async () => {
    const tc = await shop();
    const { res } = await codeTokens(tc, [ORDERS], MAIL);
    expectOAuthError(res, 400, 'invalid_target');
    expect(res.body.error_description).toContain('was not granted');
  });

  it('refuses a refresh that widens to a resource never granted', async () => {
    const tc = await shop();
    const { res } = await codeTokens(tc, [ORDERS], ORDERS);
    const rt = res.body.refresh_token as string;
    const wider = await refresh(server.url, tc, rt, { resource: MAIL });
    expectOAuthError(wider, 400, 'invalid_target');
    const unknown = await refresh(server.url, tc, rt, { resource: 'https://nowhere.example/' });
    expectOAuthError(unknown, 400, 'invalid_target');
    // Refused requests spend nothing: the refresh token still works for what it holds.
    const same = await refresh(server.url, tc, rt, { resource: ORDERS });
    expect(same.status, same.text).toBe(200);
  });

  it.each([
    ['an unknown resource', 'https://nowhere.example/', 'not a registered API'],
    ['a resource the client is not allowed', OTHER, 'may not obtain tokens'],
    ['a relative resource', '/orders', 'absolute URI'],
    ['a resource with a fragment', `${ORDERS}#x`, 'without a fragment'],
  ])('/authorize redirects %s back as invalid_target', async (_name, resource, words) => {
    const tc = await shop();
    const { params } = await authorize(tc, [resource]);
    expect(params.get('error')).toBe('invalid_target');
    expect(params.get('error_description')).toContain(words);
    expect(params.get('state')).toBe('st');
    expect(params.get('iss')).toBe(server.url);
  });

  it("offers an API's scopes only to clients allowed that API", async () => {
    const tc = await shop({ allowedResources: [MAIL] });
    const { params } = await authorize(tc, []);
    expect(params.get('error')).toBe('invalid_scope');
    expect(params.get('error_description')).toContain('orders:read');
  });

  it('a self-registered client may use the APIs open to such clients, and only those', async () => {
    const dynamic = await shop({ registration: 'dynamic', allowedResources: [] });
    const { params } = await authorize(dynamic, [OTHER], { scope: 'openid other:read' });
    expect(params.get('code'), params.toString()).toBeTruthy();
    const closed = await authorize(dynamic, [ORDERS], { scope: 'openid' });
    expect(closed.params.get('error')).toBe('invalid_target');
    // The same API is closed to a client an admin registered without allowing it.
    const admin = await shop({ allowedResources: [] });
    const refused = await authorize(admin, [OTHER], { scope: 'openid' });
    expect(refused.params.get('error')).toBe('invalid_target');
  });

  it('client_credentials: resource picks the API and its scopes; unknown or not allowed: invalid_target', async () => {
    const tc = await shop({ scopes: ['reports'] });
    const res = await postAsClient(server.url, '/token', tc, {
      grant_type: 'client_credentials',
      resource: ORDERS,
    });
    expect(res.status, res.text).toBe(200);
    expect(res.body.scope).toBe('orders:read orders:write');
    expect(decodeJwt(res.body.access_token as string)).toMatchObject({
      aud: ORDERS,
      sub: tc.client.id,
    });
    const narrowed = await postAsClient(server.url, '/token', tc, {
      grant_type: 'client_credentials',
      resource: ORDERS,
      scope: 'orders:read',
    });
    expect(narrowed.body.scope).toBe('orders:read');
    const foreign = await postAsClient(server.url, '/token', tc, {
      grant_type: 'client_credentials',
      resource: ORDERS,
      scope: 'reports',
    });
    expectOAuthError(foreign, 400, 'invalid_scope');
    for (const resource of [OTHER, 'https://nowhere.example/', 'relative']) {
      const refused = await postAsClient(server.url, '/token', tc, {
        grant_type: 'client_credentials',
        resource,
      });
      expectOAuthError(refused, 400, 'invalid_target');
    }
    const plain = await postAsClient(server.url, '/token', tc, {
      grant_type: 'client_credentials',
    });
    expect(decodeJwt(plain.body.access_token as string).aud).toBe(server.url);
  });

  it('PAR carries several resources to the code', async () => {
    const tc = await shop();
    const { verifier, challenge } = pkce();
    const body = new URLSearchParams({
      response_type: 'code',
      client_id: tc.client.id,
      redirect_uri: REDIRECT_URI,
      scope: 'openid orders:read mail:read',
      code_challenge: challenge,
      code_challenge_method: 'S256',
    });
    body.append('resource', ORDERS);
    body.append('resource', MAIL);
    const pushed = await fetch(`${server.url}/par`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: basicAuth(tc.client.id, tc.secret!),
      },
      body,
    });
    expect(pushed.status).toBe(201);
    const { request_uri } = (await pushed.json()) as { request_uri: string };
    const { user } = await makeUser(ctx);
    const browser = new Browser(server.url);
    await signInBrowser(ctx, browser, user);
    const page = await authorizeAndConsent(
      browser,
      `/authorize?${new URLSearchParams({ client_id: tc.client.id, request_uri })}`,
    );
    const code = redirectParams(page).get('code')!;
    const res = await postAsClient(server.url, '/token', tc, {
      grant_type: 'authorization_code',
      code,
      redirect_uri: REDIRECT_URI,
      code_verifier: verifier,
      resource: MAIL,
    });
    expect(res.status, res.text).toBe(200);
    expect(res.body.scope).toBe('mail:read');

    const refusedBody = new URLSearchParams(body);
    refusedBody.set('resource', OTHER);
    const refused = await fetch(`${server.url}/par`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: basicAuth(tc.client.id, tc.secret!),
      },
      body: refusedBody,
    });
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { error: string }).error).toBe('invalid_target');
  });

  it('the device flow: resource at /device_authorization and at /token', async () => {
    const tc = await shop();
    const refused = await postAsClient(server.url, '/device_authorization', tc, {
      scope: 'openid orders:read',
      resource: OTHER,
    });
    expectOAuthError(refused, 400, 'invalid_target');
    const started = await postAsClient(server.url, '/device_authorization', tc, {
      scope: 'openid orders:read',
      resource: ORDERS,
    });
    expect(started.status, started.text).toBe(200);
    const { user } = await makeUser(ctx);
    const browser = new Browser(server.url);
    await signInBrowser(ctx, browser, user);
    const checked = await enterUserCode(browser, started.body.user_code as string);
    const consent = await browser.follow(checked);
    // The device's consent page names the API too.
    expect(consent.text).toContain(
      `<strong>Orders API</strong> <span class="muted">(<code>${ORDERS}</code>)`,
    );
    await browser.submit(consent, {}, 'Allow');
    const wrong = await postAsClient(server.url, '/token', tc, {
      grant_type: DEVICE_GRANT,
      device_code: started.body.device_code as string,
      resource: MAIL,
    });
    expectOAuthError(wrong, 400, 'invalid_target');
    await new Promise((resolve) => setTimeout(resolve, 0));
    const res = await pollAfterInterval(tc, started.body.device_code as string);
    expect(res.status, res.text).toBe(200);
    expect(decodeJwt(res.body.access_token as string)).toMatchObject({
      aud: ORDERS,
      scope: 'orders:read',
    });
  });

  /** Polls past the device interval (the server's clock is the real one here). */
  async function pollAfterInterval(tc: TestClient, deviceCode: string) {
    const code = await ctx.store.deviceCodes.find(
      (await import('../../src/lib/hash.js')).sha256(deviceCode),
    );
    // Moves the last poll back instead of waiting: the interval is a rule about polls.
    await ctx.store.deviceCodes.recordPoll(
      code!.id,
      code!.lastPolledAt,
      (code!.lastPolledAt ?? 0) - 3600,
      code!.interval,
    );
    return postAsClient(server.url, '/token', tc, {
      grant_type: DEVICE_GRANT,
      device_code: deviceCode,
      resource: ORDERS,
    });
  }

  it('token exchange accepts a registered API the client may use as its target', async () => {
    const tc = await shop({
      grantTypes: ['authorization_code', 'urn:ietf:params:oauth:grant-type:token-exchange'],
    });
    const { res } = await codeTokens(tc, []);
    const exchange = (resource: string) =>
      postAsClient(server.url, '/token', tc, {
        grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
        subject_token: res.body.access_token as string,
        subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
        resource,
      });
    const made = await exchange(MAIL);
    expect(made.status, made.text).toBe(200);
    expect(made.body.scope).toBe('mail:read');
    const seen = await introspect(server.url, mail.introspector, made.body.access_token as string);
    expect(seen.body).toMatchObject({ active: true, aud: MAIL });
    expectOAuthError(await exchange(OTHER), 400, 'invalid_target');
  });

  it('the introspection client of an API cannot get tokens', async () => {
    const res = await postForm(
      server.url,
      '/token',
      { grant_type: 'client_credentials' },
      { authorization: basicAuth(orders.api.clientId, orders.introspector.secret!) },
    );
    expectOAuthError(res, 400, 'unauthorized_client');
  });
});

describe('TESSERA_DEFAULT_RESOURCE', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({ env: { TESSERA_DEFAULT_RESOURCE: ORDERS } });
    await createApi(server.app.tessera, {
      identifier: ORDERS,
      name: 'Orders API',
      scopes: ['orders:read'],
    });
  });
  afterAll(async () => server.close());

  it('gives requests without resource the default API, for clients allowed it; others keep the issuer', async () => {
    const ctx = server.app.tessera;
    for (const [allowed, aud] of [
      [[ORDERS], ORDERS],
      [[], server.url],
    ] as const) {
      const tc = await makeClient(ctx, {
        grantTypes: ['client_credentials'],
        scopes: ['reports'],
        allowedResources: [...allowed],
      });
      const res = await postAsClient(server.url, '/token', tc, {
        grant_type: 'client_credentials',
      });
      expect(res.status, res.text).toBe(200);
      expect(decodeJwt(res.body.access_token as string).aud).toBe(aud);
    }
  });
});
