import * as oauth from 'oauth4webapi';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApi } from '../../src/domain/apis.js';
import { issueInitialToken } from '../../src/domain/registration-tokens.js';
import { type RunningServer, startServer } from '../helpers/app.js';
import { Browser } from '../helpers/browser.js';
import { makeUser, redirectParams, signInBrowser } from '../helpers/oauth.js';

const insecure = { [oauth.allowInsecureRequests]: true };

/**
 * Clients that register themselves (RFC 7591) with the two strict JavaScript OAuth libraries,
 * against a listening Tessera, then sign a person in through the real consent page.
 */
describe('dynamic client registration with real clients', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({
      env: { TESSERA_REGISTRATION: 'token', TESSERA_REGISTRATION_RATE_LIMIT: '1000' },
    });
  });
  afterAll(async () => server.close());

  async function signedInBrowser() {
    const { user } = await makeUser(server.app.tessera);
    const browser = new Browser(server.url);
    await signInBrowser(server.app.tessera, browser, user);
    return { user, browser };
  }

  /** /authorize to the consent page, which must be shown, then Allow: the redirect back. */
  async function consent(browser: Browser, url: URL, returnHost?: string) {
    const page = await browser.get(url.toString());
    expect(page.status, page.text.slice(0, 300)).toBe(200);
    expect(page.text).toContain('Allow');
    // A self-registered app's name proves nothing: the page says so, and where it sends back to.
    expect(page.text).toContain('This app registered itself');
    if (returnHost) expect(page.text).toContain(`sent back to <strong>${returnHost}</strong>`);
    return browser.submit(page, {}, 'Allow');
  }

  it('openid-client registers a public client as the MCP SDK does, then runs the code flow and refreshes', async () => {
    const { token } = await issueInitialToken(server.app.tessera, { uses: 1 });
    const redirect = 'http://localhost:33418/callback';
    const config = await oidc.dynamicClientRegistration(
      new URL(server.url),
      {
        redirect_uris: [redirect],
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        client_name: 'MCP-style client',
        scope: 'openid offline_access',
      },
      oidc.None(),
      { execute: [oidc.allowInsecureRequests], initialAccessToken: token },
    );
    const metadata = config.clientMetadata();
    expect(metadata.client_secret).toBeUndefined();
    expect(metadata.registration_access_token).toEqual(expect.any(String));
    const client = await server.app.tessera.store.clients.findById(metadata.client_id);
    expect(client?.registration).toBe('dynamic');

    const { user, browser } = await signedInBrowser();
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const back = await consent(
      browser,
      oidc.buildAuthorizationUrl(config, {
        redirect_uri: redirect,
        scope: 'openid offline_access',
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state,
      }),
      'localhost:33418',
    );
    const tokens = await oidc.authorizationCodeGrant(config, new URL(back.location!), {
      pkceCodeVerifier: verifier,
      expectedState: state,
    });
    expect(tokens.claims()?.sub).toBe(user.id);
    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
    expect(refreshed.access_token).not.toBe(tokens.access_token);

    // The person's "Connected apps" says the app registered itself.
    const account = await browser.get('/account');
    expect(account.text).toContain('MCP-style client');
    expect(account.text).toContain('registered itself');

    // RFC 7592: the app deletes itself; its grant and tokens go with it.
    const deleted = await fetch(metadata.registration_client_uri as string, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${metadata.registration_access_token}` },
    });
    expect(deleted.status).toBe(204);
    expect(await server.app.tessera.store.grants.find(user.id, metadata.client_id)).toBeUndefined();
    await expect(oidc.refreshTokenGrant(config, refreshed.refresh_token!)).rejects.toBeDefined();
    const info = await fetch(`${server.url}/userinfo`, {
      headers: { authorization: `Bearer ${refreshed.access_token}` },
    });
    expect(info.status).toBe(401);
  });

  it('oauth4webapi registers a confidential client_secret_post client and runs the code flow', async () => {
    const { token } = await issueInitialToken(server.app.tessera);
    const issuer = new URL(server.url);
    const as = await oauth.processDiscoveryResponse(
      issuer,
      await oauth.discoveryRequest(issuer, insecure),
    );
    expect(as.registration_endpoint).toBe(`${server.url}/register`);
    const redirect = 'https://rp.example.com/cb';
    const registered = await oauth.processDynamicClientRegistrationResponse(
      await oauth.dynamicClientRegistrationRequest(
        as,
        {
          redirect_uris: [redirect],
          token_endpoint_auth_method: 'client_secret_post',
          grant_types: ['authorization_code'],
          client_name: 'oauth4webapi app',
          // Smuggled: no effect.
          first_party: true,
        },
        { ...insecure, initialAccessToken: token },
      ),
    );
    expect(registered.client_secret).toEqual(expect.any(String));
    expect(registered.client_secret_expires_at).toBe(0);
    const client: oauth.Client = { client_id: registered.client_id };
    const auth = oauth.ClientSecretPost(registered.client_secret as string);

    const { user, browser } = await signedInBrowser();
    const verifier = oauth.generateRandomCodeVerifier();
    const nonce = oauth.generateRandomNonce();
    const url = new URL(as.authorization_endpoint!);
    url.search = new URLSearchParams({
      client_id: client.client_id,
      redirect_uri: redirect,
      response_type: 'code',
      scope: 'openid email',
      code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      nonce,
    }).toString();
    // Consent is shown although first_party was sent.
    const back = await consent(browser, url);
    const params = oauth.validateAuthResponse(as, client, new URL(back.location!));
    const response = await oauth.authorizationCodeGrantRequest(
      as,
      client,
      auth,
      params,
      redirect,
      verifier,
      insecure,
    );
    const result = await oauth.processAuthorizationCodeResponse(as, client, response, {
      expectedNonce: nonce,
    });
    expect(oauth.getValidatedIdTokenClaims(result)?.sub).toBe(user.id);
  });

  it('a native app’s loopback redirect URI matches on any port (RFC 8252 §7.3)', async () => {
    const { token } = await issueInitialToken(server.app.tessera);
    const res = await fetch(`${server.url}/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({
        application_type: 'native',
        redirect_uris: ['http://127.0.0.1/callback'],
        token_endpoint_auth_method: 'none',
        client_name: 'Native app',
      }),
    });
    expect(res.status).toBe(201);
    const { client_id } = (await res.json()) as { client_id: string };
    const { browser } = await signedInBrowser();
    const verifier = oauth.generateRandomCodeVerifier();
    const url = new URL(`${server.url}/authorize`);
    url.search = new URLSearchParams({
      client_id,
      redirect_uri: 'http://127.0.0.1:51004/callback',
      response_type: 'code',
      scope: 'openid',
      code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    }).toString();
    const back = await consent(browser, url);
    expect(back.location).toMatch(/^http:\/\/127\.0\.0\.1:51004\/callback\?code=/);
    expect(redirectParams(back).get('code')).toEqual(expect.any(String));
  });

  it('an MCP-style client asking for an API’s scopes registers, and gets them through the API open to it', async () => {
    await createApi(server.app.tessera, {
      identifier: 'https://notes.example.com/mcp',
      name: 'Notes',
      scopes: ['notes:read'],
      openToSelfRegistered: true,
    });
    const { token } = await issueInitialToken(server.app.tessera);
    const redirect = 'http://127.0.0.1:40123/callback';
    const config = await oidc.dynamicClientRegistration(
      new URL(server.url),
      {
        redirect_uris: [redirect],
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code', 'refresh_token'],
        scope: 'notes:read',
      },
      oidc.None(),
      { execute: [oidc.allowInsecureRequests], initialAccessToken: token },
    );
    // The API's scope is not the client's to hold: it comes with the API.
    expect(config.clientMetadata().scope).toBe('');
    const { browser } = await signedInBrowser();
    const verifier = oidc.randomPKCECodeVerifier();
    const back = await consent(
      browser,
      oidc.buildAuthorizationUrl(config, {
        redirect_uri: redirect,
        scope: 'notes:read',
        resource: 'https://notes.example.com/mcp',
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
      }),
    );
    const tokens = await oidc.authorizationCodeGrant(
      config,
      new URL(back.location!),
      { pkceCodeVerifier: verifier },
      { resource: 'https://notes.example.com/mcp' },
    );
    expect(tokens.scope).toBe('notes:read');
    const [, payload] = tokens.access_token.split('.');
    expect(JSON.parse(Buffer.from(payload!, 'base64url').toString()).aud).toBe(
      'https://notes.example.com/mcp',
    );
  });

  it('refuses a registration without the initial access token, through openid-client', async () => {
    await expect(
      oidc.dynamicClientRegistration(
        new URL(server.url),
        { redirect_uris: ['https://rp.example.com/cb'] },
        undefined,
        { execute: [oidc.allowInsecureRequests] },
      ),
    ).rejects.toMatchObject({ status: 401 });
  });
});

describe('dynamic client registration under an issuer with a path', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({
      issuerPath: '/tenant-a',
      env: { TESSERA_REGISTRATION: 'open', TESSERA_REGISTRATION_RATE_LIMIT: '1000' },
    });
  });
  afterAll(async () => server.close());

  it('advertises, registers and manages clients under the path, none at the root', async () => {
    const config = await oidc.dynamicClientRegistration(
      new URL(server.url),
      { redirect_uris: ['https://rp.example.com/cb'], token_endpoint_auth_method: 'none' },
      oidc.None(),
      { execute: [oidc.allowInsecureRequests] },
    );
    expect(config.serverMetadata().registration_endpoint).toBe(`${server.url}/register`);
    const metadata = config.clientMetadata();
    expect(metadata.registration_client_uri).toBe(`${server.url}/register/${metadata.client_id}`);
    const read = await fetch(metadata.registration_client_uri as string, {
      headers: { authorization: `Bearer ${metadata.registration_access_token}` },
    });
    expect(read.status).toBe(200);
    const root = await fetch(`${new URL(server.url).origin}/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ redirect_uris: ['https://rp.example.com/cb'] }),
    });
    expect(root.status).toBe(404);
    // Browser apps may register cross-origin, at the path.
    const preflight = await fetch(`${server.url}/register`, {
      method: 'OPTIONS',
      headers: { origin: 'https://inspector.example', 'access-control-request-method': 'POST' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('*');
  });
});
