import { discoverAuthorizationServerMetadata } from '@modelcontextprotocol/sdk/client/auth.js';
import * as oauth from 'oauth4webapi';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { type RunningServer, startServer } from '../helpers/app.js';
import { Browser, type Page } from '../helpers/browser.js';
import { DEVICE_GRANT } from '../helpers/device.js';
import { basicAuth, makeClient, makeUser, postForm, REDIRECT_URI } from '../helpers/oauth.js';
import { signInThroughPage } from '../helpers/sign-in-page.js';

const PATH = '/tenant-a';
const insecure = { [oauth.allowInsecureRequests]: true };

/**
 * An issuer with a path (http://127.0.0.1:PORT/tenant-a) and no proxy to strip it: the strict
 * client libraries discover it by each form they know, and run whole flows against it, with a
 * person signing in and consenting through the real pages over HTTP.
 */
describe('an issuer with a path, with real clients', () => {
  let server: RunningServer;
  let ctx: AppContext;
  beforeAll(async () => {
    server = await startServer({ issuerPath: PATH });
    ctx = server.app.tessera;
  });
  afterAll(async () => server.close());

  /** Every link, form action and stylesheet of a page lies under the issuer's path. */
  function expectLinksUnderPath(page: Page): void {
    const urls = [...page.text.matchAll(/(?:href|src|action)="([^"]*)"/g)].map((m) => m[1]!);
    expect(urls.length).toBeGreaterThan(0);
    for (const url of urls) expect(url.replace(/&#x2F;/g, '/'), page.url).toMatch(/^\/tenant-a\//);
  }

  /** Every page the person is sent to lies under the issuer's path. */
  async function followUnderPath(browser: Browser, page: Page): Promise<Page> {
    let current = page;
    while (current.location && new URL(current.location).origin === server.origin) {
      expect(new URL(current.location).pathname).toMatch(/^\/tenant-a\//);
      current = await browser.get(current.location);
    }
    return current;
  }

  it('openid-client discovers it and runs the code flow through the sign-in and consent pages', async () => {
    const { client, secret } = await makeClient(ctx, {
      grantTypes: ['authorization_code', 'refresh_token'],
    });
    const { user, password } = await makeUser(ctx);
    const config = await oidc.discovery(
      new URL(server.url),
      client.id,
      {},
      oidc.ClientSecretBasic(secret!),
      { execute: [oidc.allowInsecureRequests] },
    );
    const meta = config.serverMetadata();
    expect(meta.issuer).toBe(server.url);
    expect(meta.token_endpoint).toBe(`${server.url}/token`);

    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT_URI,
      scope: 'openid profile email offline_access',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    const browser = new Browser(server.url);
    const toLogin = await browser.get(url.toString());
    expect(new URL(toLogin.location!).pathname).toBe(`${PATH}/login`);
    const consent = await followUnderPath(
      browser,
      await signInThroughPage(browser, toLogin, user.username, password),
    );
    expect(consent.text).toContain('Allow');
    expectLinksUnderPath(consent);
    const back = await browser.submit(consent, {}, 'Allow');
    expect(back.location!.startsWith(REDIRECT_URI)).toBe(true);

    const tokens = await oidc.authorizationCodeGrant(config, new URL(back.location!), {
      pkceCodeVerifier: verifier,
      expectedState: state,
      expectedNonce: nonce,
      idTokenExpected: true,
    });
    expect(tokens.claims()!.iss).toBe(server.url);
    const info = await oidc.fetchUserInfo(config, tokens.access_token, user.id);
    expect(info.preferred_username).toBe(user.username);
    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
    expect(refreshed.claims()?.sub).toBe(user.id);
    expect((await oidc.tokenIntrospection(config, refreshed.access_token)).active).toBe(true);
    await oidc.tokenRevocation(config, refreshed.access_token);
    expect((await oidc.tokenIntrospection(config, refreshed.access_token)).active).toBe(false);

    // The account page lists the app; its forms and the header's "Sign out" work under the path.
    const account = await browser.get(`${server.url}/account`);
    expect(account.status).toBe(200);
    expect(account.text).toContain('Test App');
    expectLinksUnderPath(account);
    const out = await browser.submit(account, {}, 'Sign out');
    expect(out.location).toBe(`${server.url}/login`);
    expect((await browser.get(`${server.url}/account`)).location).toBe(
      `${server.url}/login?return_to=/account`,
    );
  });

  it('oauth4webapi finds RFC 8414 metadata at the path-inserted URL and OpenID metadata at the appended one', async () => {
    const issuer = new URL(server.url);
    const asked: Record<string, string> = {};
    for (const algorithm of ['oauth2', 'oidc'] as const) {
      const response = await oauth.discoveryRequest(issuer, { algorithm, ...insecure });
      asked[algorithm] = response.url;
      const as = await oauth.processDiscoveryResponse(issuer, response);
      expect(as.issuer).toBe(server.url);
      expect(as.token_endpoint).toBe(`${server.url}/token`);
    }
    expect(asked).toEqual({
      oauth2: `${server.origin}/.well-known/oauth-authorization-server${PATH}`,
      oidc: `${server.url}/.well-known/openid-configuration`,
    });

    // And a grant with what it found: the token endpoint under the path works.
    const as = await oauth.processDiscoveryResponse(
      issuer,
      await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }),
    );
    const { client, secret } = await makeClient(ctx, { grantTypes: ['client_credentials'] });
    const response = await oauth.clientCredentialsGrantRequest(
      as,
      { client_id: client.id },
      oauth.ClientSecretBasic(secret!),
      new URLSearchParams(),
      insecure,
    );
    const result = await oauth.processClientCredentialsResponse(
      as,
      { client_id: client.id },
      response,
    );
    expect(result.token_type.toLowerCase()).toBe('bearer');
  });

  it("the MCP SDK's discovery finds the metadata by each of the three forms it tries, in order", async () => {
    const forms = [
      `${server.origin}/.well-known/oauth-authorization-server${PATH}`,
      `${server.origin}/.well-known/openid-configuration${PATH}`,
      `${server.url}/.well-known/openid-configuration`,
    ];
    // `skip` forms answered 404 by a stand-in (as a proxy that forwards only some paths would):
    // the SDK moves on to the next, which Tessera answers.
    for (let skip = 0; skip < forms.length; skip++) {
      const tried: string[] = [];
      const metadata = await discoverAuthorizationServerMetadata(server.url, {
        fetchFn: async (input, init) => {
          const url = String(input);
          tried.push(url);
          if (tried.length <= skip) return new Response('', { status: 404 });
          return fetch(input, init);
        },
      });
      expect(tried).toEqual(forms.slice(0, skip + 1));
      expect(metadata?.issuer).toBe(server.url);
      expect(metadata?.authorization_endpoint).toBe(`${server.url}/authorize`);
    }
  });

  it('the device flow works through the /device page under the path', async () => {
    const tc = await makeClient(ctx, { redirectUris: [], grantTypes: [DEVICE_GRANT] });
    const { user, password } = await makeUser(ctx);
    const auth = { authorization: basicAuth(tc.client.id, tc.secret!) };
    const started = await postForm(server.url, `${server.url}/device_authorization`, {}, auth);
    expect(started.status, started.text).toBe(200);
    expect(started.body.verification_uri).toBe(`${server.url}/device`);

    const browser = new Browser(server.url);
    const typed = await browser.get(String(started.body.verification_uri_complete));
    expect(typed.status).toBe(200);
    expectLinksUnderPath(typed);
    const checked = await browser.submit(typed, {}, 'Continue');
    expect(new URL(checked.location!).pathname).toBe(`${PATH}/device/confirm`);
    const toLogin = await browser.get(checked.location!);
    expect(new URL(toLogin.location!).pathname).toBe(`${PATH}/login`);
    const consent = await followUnderPath(
      browser,
      await signInThroughPage(browser, toLogin, user.username, password),
    );
    expect(consent.text).toContain('A device is asking to use your account');
    expectLinksUnderPath(consent);
    const done = await browser.submit(consent, {}, 'Allow');
    expect(done.status, done.text.slice(0, 300)).toBe(200);
    expectLinksUnderPath(done);

    const token = await postForm(
      server.url,
      `${server.url}/token`,
      { grant_type: DEVICE_GRANT, device_code: String(started.body.device_code) },
      auth,
    );
    expect(token.status, token.text).toBe(200);
  });

  it('sets every cookie with the path of the issuer, so a sibling path never sees it', async () => {
    const res = await fetch(`${server.url}/login`);
    const cookies = res.headers.getSetCookie();
    expect(cookies.length).toBeGreaterThan(0);
    for (const cookie of cookies) expect(cookie).toMatch(/; Path=\/tenant-a(;|$)/);
  });
});
