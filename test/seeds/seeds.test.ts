import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, startServer } from '../helpers/app.js';
import {
  Browser,
  FORM,
  form,
  JSON_TYPE,
  json,
  personAuthorizes,
  registerClient,
  registerUser,
} from './helpers.js';

/*
 * The client side of seeds 000–003, replayed against a running Tessera with
 * Tessera's endpoints (docs/seeds.md maps each seed request to them).
 */

const PASSWORD = 'correct horse battery staple';
const basic = (id: string, secret: string) =>
  `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

describe('the seeds, replayed', () => {
  let server: RunningServer;
  let base: string;
  beforeAll(async () => {
    // Seed 003's 10-minute access tokens.
    server = await startServer({ env: { TESSERA_ACCESS_TOKEN_TTL: '600' } });
    base = server.url;
  });
  afterAll(async () => server.close());

  it('seed 000: register a client, log in, POST /authorize, exchange the code, call the protected resource', async () => {
    // The seed's client sends its secret in the body: registered as client_secret_post, the one
    // method Tessera then accepts from it.
    const client = await registerClient(base, {
      client_name: 'oauth_client.py',
      redirect_uris: ['http://localhost:5050/callback'],
      grant_types: ['authorization_code'],
      scope: 'read',
      token_endpoint_auth_method: 'client_secret_post',
    });
    await registerUser(base, {
      username: 'demo_user',
      email: 'demo@example.com',
      password: PASSWORD,
    });

    // 1. The user logs in first (the seed's /login), then 2. the client POSTs /authorize.
    const browser = new Browser(base);
    const login = await browser.get('/login');
    await browser.follow(
      await browser.submit(
        login,
        { 'Username or email': 'demo_user', Password: PASSWORD },
        'Sign in',
      ),
    );
    const start = await browser.post('/authorize', {
      client_id: client.client_id,
      redirect_uri: 'http://localhost:5050/callback',
      response_type: 'code',
      scope: 'read',
    });
    // 3. Redirect to the callback with the code.
    const callback = await personAuthorizes(browser, start, {
      username: 'demo_user',
      password: PASSWORD,
    });
    expect(`${callback.origin}${callback.pathname}`).toBe('http://localhost:5050/callback');
    const code = callback.searchParams.get('code')!;

    // 4–5. Token request with client_id and client_secret in the body.
    const token = await json(
      await fetch(`${base}/token`, {
        method: 'POST',
        headers: FORM,
        body: form({
          grant_type: 'authorization_code',
          code,
          client_id: client.client_id,
          client_secret: client.client_secret,
          redirect_uri: 'http://localhost:5050/callback',
        }),
      }),
    );
    expect(token.status).toBe(200);
    expect(token.body).toMatchObject({ token_type: 'Bearer', scope: 'read' });

    // 6. The protected resource checks the bearer token: offline against the JWKS, or by introspection.
    const accessToken = String(token.body.access_token);
    const { payload } = await jwtVerify(accessToken, createRemoteJWKSet(new URL(`${base}/jwks`)), {
      issuer: base,
    });
    expect(payload.scope).toBe('read');
    const introspection = await json(
      await fetch(`${base}/introspect`, {
        method: 'POST',
        headers: FORM,
        body: form({
          token: accessToken,
          client_id: client.client_id,
          client_secret: client.client_secret,
        }),
      }),
    );
    expect(introspection.body).toMatchObject({
      active: true,
      username: 'demo_user',
      scope: 'read',
    });
  });

  it('seed 001: authorise with login and consent, JSON token, userinfo, refresh, revoke, deauthorise', async () => {
    const redirect = 'http://127.0.0.1:5000/callback';
    const client = await registerClient(base, {
      client_name: 'prescription_manager_app',
      redirect_uris: [redirect],
      scope: 'openid user profile',
      token_endpoint_auth_method: 'client_secret_post',
    });
    await registerUser(base, {
      username: 'alice',
      email: 'alice@example.com',
      password: PASSWORD,
      given_name: 'Alice',
    });
    const browser = new Browser(base);

    // STEP 1–3 (userinfo needs openid: OpenID Connect Core §5.3).
    const start = await browser.get(
      `/authorize?response_type=code&client_id=${client.client_id}&redirect_uri=${encodeURIComponent(redirect)}&scope=openid%20user%20profile&state=xyzABC123`,
    );
    const callback = await personAuthorizes(browser, start, {
      username: 'alice',
      password: PASSWORD,
    });
    expect(callback.searchParams.get('state')).toBe('xyzABC123');

    // STEP 4–5: JSON body.
    const token = await json(
      await fetch(`${base}/token`, {
        method: 'POST',
        headers: JSON_TYPE,
        body: JSON.stringify({
          grant_type: 'authorization_code',
          code: callback.searchParams.get('code'),
          redirect_uri: redirect,
          client_id: client.client_id,
          client_secret: client.client_secret,
        }),
      }),
    );
    expect(token.status).toBe(200);
    expect(token.body).toMatchObject({
      token_type: 'Bearer',
      expires_in: 600,
      scope: 'openid user profile',
    });

    // STEP 6.
    const info = await json(
      await fetch(`${base}/userinfo`, {
        headers: { authorization: `Bearer ${token.body.access_token}` },
      }),
    );
    expect(info.body).toMatchObject({ preferred_username: 'alice', given_name: 'Alice' });

    // STEP 7: refresh, JSON body.
    const refreshed = await json(
      await fetch(`${base}/token`, {
        method: 'POST',
        headers: JSON_TYPE,
        body: JSON.stringify({
          grant_type: 'refresh_token',
          refresh_token: token.body.refresh_token,
          client_id: client.client_id,
          client_secret: client.client_secret,
        }),
      }),
    );
    expect(refreshed.status).toBe(200);

    // STEP 8A / 9.1: revoke the current access token, JSON body.
    const revoke = await fetch(`${base}/revoke`, {
      method: 'POST',
      headers: JSON_TYPE,
      body: JSON.stringify({
        token: refreshed.body.access_token,
        client_id: client.client_id,
        client_secret: client.client_secret,
      }),
    });
    expect(revoke.status).toBe(200);
    const afterRevoke = await fetch(`${base}/userinfo`, {
      headers: { authorization: `Bearer ${refreshed.body.access_token}` },
    });
    expect(afterRevoke.status).toBe(401);

    // STEP 8B / 9.2: deauthorise the whole app from "Manage Connected Apps".
    const account = await browser.get('/account');
    expect(account.text).toContain('prescription_manager_app');
    const csrf = /name="_csrf" value="([^"]+)"/.exec(account.text)![1]!;
    const deauthorise = await browser.post('/account/apps/revoke', {
      _csrf: csrf,
      client_id: client.client_id,
    });
    expect(deauthorise.status).toBe(303);
    expect(new URL(deauthorise.location!).pathname).toBe('/account');
    const refreshAfter = await json(
      await fetch(`${base}/token`, {
        method: 'POST',
        headers: JSON_TYPE,
        body: JSON.stringify({
          grant_type: 'refresh_token',
          refresh_token: refreshed.body.refresh_token,
          client_id: client.client_id,
          client_secret: client.client_secret,
        }),
      }),
    );
    expect(refreshAfter.body.error).toBe('invalid_grant');
  });

  it('seed 002: register client and user, authorize with scopes and state, exchange, get data, refresh', async () => {
    const redirect = 'http://localhost:3000/callback';
    const client = await registerClient(base, {
      client_name: 'seed-002 client',
      redirect_uris: [redirect],
      token_endpoint_auth_method: 'client_secret_post',
    });
    const user = await registerUser(base, {
      firstname: 'Sample',
      lastname: 'User',
      username: 'SampleUsername',
      phone: '0812345678',
      email: 'sampleMail@example.com',
      password: PASSWORD,
    });

    // The seed's scopes username, email, firstname, lastname, phone are profile, email and phone here.
    const browser = new Browser(base);
    const start = await browser.get(
      `/authorize?client_id=${client.client_id}&response_type=code&redirect_uri=${encodeURIComponent(redirect)}&scope=openid%20profile%20email%20phone&state=YOUR_STATE`,
    );
    const callback = await personAuthorizes(browser, start, {
      username: 'SampleUsername',
      password: PASSWORD,
    });
    expect(callback.searchParams.get('state')).toBe('YOUR_STATE');

    const token = await json(
      await fetch(`${base}/token`, {
        method: 'POST',
        headers: FORM,
        body: form({
          grant_type: 'authorization_code',
          client_id: client.client_id,
          client_secret: client.client_secret,
          code: callback.searchParams.get('code')!,
          redirect_uri: redirect,
        }),
      }),
    );
    expect(token.status).toBe(200);
    expect(String(token.body.access_token).split('.')).toHaveLength(3);
    expect(token.body.refresh_token).toBeTruthy();

    // "Get data": POST with the bearer header and a form content type.
    const data = await json(
      await fetch(`${base}/userinfo`, {
        method: 'POST',
        headers: { ...FORM, authorization: `Bearer ${token.body.access_token}` },
        body: '',
      }),
    );
    expect(data.body).toMatchObject({
      sub: user.id,
      email: 'sampleMail@example.com',
      preferred_username: 'SampleUsername',
      given_name: 'Sample',
      family_name: 'User',
      phone_number: '0812345678',
    });

    const refreshed = await json(
      await fetch(`${base}/token`, {
        method: 'POST',
        headers: FORM,
        body: form({
          grant_type: 'refresh_token',
          client_id: client.client_id,
          client_secret: client.client_secret,
          refresh_token: String(token.body.refresh_token),
        }),
      }),
    );
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.access_token).toBeTruthy();
    expect(refreshed.body.refresh_token).toBeTruthy();

    // The seed's non-standard grant_type=refresh is refused, as RFC 6749 says.
    const legacy = await json(
      await fetch(`${base}/token`, {
        method: 'POST',
        headers: FORM,
        body: form({
          grant_type: 'refresh',
          client_id: client.client_id,
          client_secret: client.client_secret,
          refresh_token: String(refreshed.body.refresh_token),
        }),
      }),
    );
    expect(legacy.body.error).toBe('unsupported_grant_type');
  });

  it('seed 003: admin-key registration, reload, Basic auth, user-bound tokens, user info with 2FA and verified flags', async () => {
    const client = await registerClient(base, {
      app_name: 'Test App',
      contact_email: 'contact@app.com',
      redirect_url: 'https://localhost:8080/test',
    });
    expect(client.redirect_url).toBe('https://localhost:8080/test');
    const reload = await json(
      await fetch(`${base}/admin/api/clients/reload`, {
        method: 'POST',
        headers: { 'x-admin-key': (await import('../helpers/config.js')).TEST_ADMIN_KEY },
      }),
    );
    expect(Number(reload.body.clients_loaded)).toBeGreaterThanOrEqual(1);
    await registerUser(base, {
      username: 'user',
      email: 'testuser@gmail.com',
      password: PASSWORD,
      given_name: 'Test',
      family_name: 'User',
    });

    const browser = new Browser(base);
    const start = await browser.get(
      `/authorize?response_type=code&client_id=${client.client_id}&redirect_uri=${encodeURIComponent('https://localhost:8080/test')}&scope=openid%20profile%20email&state=s3`,
    );
    const callback = await personAuthorizes(browser, start, {
      username: 'user',
      password: PASSWORD,
    });
    const auth = { authorization: basic(client.client_id, client.client_secret) };
    const token = await json(
      await fetch(`${base}/token`, {
        method: 'POST',
        headers: { ...FORM, ...auth },
        body: form({
          grant_type: 'authorization_code',
          code: callback.searchParams.get('code')!,
          redirect_uri: 'https://localhost:8080/test',
        }),
      }),
    );
    expect(token.status).toBe(200);
    expect(token.body.expires_in).toBe(600);
    const { payload } = await jwtVerify(
      String(token.body.access_token),
      createRemoteJWKSet(new URL(`${base}/jwks`)),
    );
    expect(Number(payload.exp) - Number(payload.iat)).toBe(600);

    const refreshed = await json(
      await fetch(`${base}/token`, {
        method: 'POST',
        headers: { ...FORM, ...auth },
        body: form({
          grant_type: 'refresh_token',
          refresh_token: String(token.body.refresh_token),
        }),
      }),
    );
    expect(refreshed.status).toBe(200);

    const info = await json(
      await fetch(`${base}/userinfo`, {
        headers: { authorization: `Bearer ${refreshed.body.access_token}` },
      }),
    );
    expect(info.body).toMatchObject({
      given_name: 'Test',
      family_name: 'User',
      preferred_username: 'user',
      two_factor: false,
      email_verified: false,
      email: 'testuser@gmail.com',
    });

    // "User-locked": a code or token works only for the user it was issued to, and only for this client.
    const other = await registerClient(base, {
      app_name: 'Other',
      redirect_url: 'https://localhost:8080/other',
    });
    const stolen = await json(
      await fetch(`${base}/token`, {
        method: 'POST',
        headers: { ...FORM, authorization: basic(other.client_id, other.client_secret) },
        body: form({
          grant_type: 'refresh_token',
          refresh_token: String(refreshed.body.refresh_token),
        }),
      }),
    );
    expect(stolen.body.error).toBe('invalid_grant');
  });
});
