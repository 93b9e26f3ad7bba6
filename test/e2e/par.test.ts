import * as oauth from 'oauth4webapi';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { type RunningServer, startServer } from '../helpers/app.js';
import { Browser } from '../helpers/browser.js';
import { makeClient, makeUser, REDIRECT_URI } from '../helpers/oauth.js';
import { signInThroughPage } from '../helpers/sign-in-page.js';

/**
 * Pushed authorization requests (RFC 9126) driven by the two strict client libraries against a
 * listening Tessera that requires PAR of every client: each finds /par in discovery, pushes, and
 * sends the person through the real sign-in and consent pages to a code and tokens.
 */
describe('PAR with openid-client and oauth4webapi', () => {
  let server: RunningServer;
  let ctx: AppContext;
  beforeAll(async () => {
    server = await startServer({ env: { TESSERA_REQUIRE_PAR: 'true' } });
    ctx = server.app.tessera;
  });
  afterAll(async () => server.close());

  /** Follows the authorization URL through the sign-in page and Allow; returns the redirect to the client. */
  async function signInAndAllow(url: URL) {
    const { user, password } = await makeUser(ctx);
    const browser = new Browser(server.url);
    const start = await browser.get(url.toString());
    const consent = await signInThroughPage(browser, start, user.username, password);
    expect(consent.text).toContain('Allow');
    const done = await browser.submit(consent, {}, 'Allow');
    expect(done.location, done.text.slice(0, 300)).toBeDefined();
    return { user, callback: new URL(done.location!) };
  }

  describe('openid-client', () => {
    async function configure(overrides: Parameters<typeof makeClient>[1] = {}) {
      const { client, secret } = await makeClient(ctx, overrides);
      const auth =
        client.tokenEndpointAuthMethod === 'none'
          ? oidc.None()
          : client.tokenEndpointAuthMethod === 'client_secret_post'
            ? oidc.ClientSecretPost(secret!)
            : oidc.ClientSecretBasic(secret!);
      const config = await oidc.discovery(new URL(server.url), client.id, {}, auth, {
        execute: [oidc.allowInsecureRequests],
      });
      return { client, config };
    }

    it('finds /par in discovery, and that PAR is required', async () => {
      const { config } = await configure();
      const meta = config.serverMetadata();
      expect(meta.pushed_authorization_request_endpoint).toBe(`${server.url}/par`);
      expect(meta.require_pushed_authorization_requests).toBe(true);
    });

    for (const method of ['client_secret_basic', 'client_secret_post', 'none'] as const) {
      it(`buildAuthorizationUrlWithPAR (${method}) → sign-in → consent → tokens`, async () => {
        const { config } = await configure(
          method === 'none'
            ? { type: 'public', tokenEndpointAuthMethod: 'none' }
            : { tokenEndpointAuthMethod: method },
        );
        const verifier = oidc.randomPKCECodeVerifier();
        const state = oidc.randomState();
        const nonce = oidc.randomNonce();
        const url = await oidc.buildAuthorizationUrlWithPAR(config, {
          redirect_uri: REDIRECT_URI,
          scope: 'openid profile email offline_access',
          code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
          code_challenge_method: 'S256',
          state,
          nonce,
        });
        expect([...url.searchParams.keys()].sort()).toEqual(['client_id', 'request_uri']);
        const { user, callback } = await signInAndAllow(url);
        const tokens = await oidc.authorizationCodeGrant(config, callback, {
          pkceCodeVerifier: verifier,
          expectedState: state,
          expectedNonce: nonce,
          idTokenExpected: true,
        });
        expect(tokens.claims()?.sub).toBe(user.id);
        expect(tokens.scope).toBe('openid profile email offline_access');
        expect(tokens.refresh_token).toBeTruthy();
      });
    }

    it('surfaces a refused push as the RFC error', async () => {
      const { config } = await configure({ scopes: ['openid'] });
      await expect(
        oidc.buildAuthorizationUrlWithPAR(config, {
          redirect_uri: REDIRECT_URI,
          scope: 'openid email',
          code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
          code_challenge_method: 'S256',
        }),
      ).rejects.toMatchObject({ error: 'invalid_scope', status: 400 });
    });

    it('cannot skip PAR here: a plain authorization URL is refused with invalid_request', async () => {
      const { config } = await configure();
      const url = oidc.buildAuthorizationUrl(config, {
        redirect_uri: REDIRECT_URI,
        scope: 'openid',
        code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
        code_challenge_method: 'S256',
      });
      const page = await new Browser(server.url).get(url.toString());
      const answer = new URL(page.location!).searchParams;
      expect(answer.get('error')).toBe('invalid_request');
      expect(answer.get('error_description')).toContain('/par');
    });
  });

  describe('oauth4webapi', () => {
    let as: oauth.AuthorizationServer;
    const insecure = { [oauth.allowInsecureRequests]: true };
    beforeAll(async () => {
      const issuer = new URL(server.url);
      as = await oauth.processDiscoveryResponse(
        issuer,
        await oauth.discoveryRequest(issuer, insecure),
      );
    });

    it('pushedAuthorizationRequest + processPushedAuthorizationResponse → sign-in → consent → tokens', async () => {
      const made = await makeClient(ctx);
      const client: oauth.Client = { client_id: made.client.id };
      const auth = oauth.ClientSecretBasic(made.secret!);
      const verifier = oauth.generateRandomCodeVerifier();
      const state = oauth.generateRandomState();
      const nonce = oauth.generateRandomNonce();
      const response = await oauth.pushedAuthorizationRequest(
        as,
        client,
        auth,
        {
          redirect_uri: REDIRECT_URI,
          response_type: 'code',
          scope: 'openid profile',
          code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
          code_challenge_method: 'S256',
          state,
          nonce,
        },
        insecure,
      );
      const pushed = await oauth.processPushedAuthorizationResponse(as, client, response);
      expect(pushed.expires_in).toBe(60);
      expect(pushed.request_uri).toMatch(/^urn:ietf:params:oauth:request_uri:/);

      const url = new URL(as.authorization_endpoint!);
      url.searchParams.set('client_id', client.client_id);
      url.searchParams.set('request_uri', pushed.request_uri);
      const { user, callback } = await signInAndAllow(url);
      const params = oauth.validateAuthResponse(as, client, callback, state);
      const tokenResponse = await oauth.authorizationCodeGrantRequest(
        as,
        client,
        auth,
        params,
        REDIRECT_URI,
        verifier,
        insecure,
      );
      const tokens = await oauth.processAuthorizationCodeResponse(as, client, tokenResponse, {
        expectedNonce: nonce,
        requireIdToken: true,
      });
      expect(oauth.getValidatedIdTokenClaims(tokens)?.sub).toBe(user.id);
      expect(tokens.scope).toBe('openid profile');
    });

    it('gets the push refusals as ResponseBodyError: invalid_client (401) and invalid_request', async () => {
      const made = await makeClient(ctx);
      const client: oauth.Client = { client_id: made.client.id };
      const parameters = {
        redirect_uri: REDIRECT_URI,
        response_type: 'code',
        scope: 'openid',
        code_challenge: await oauth.calculatePKCECodeChallenge(oauth.generateRandomCodeVerifier()),
        code_challenge_method: 'S256',
      };
      const wrong = await oauth.pushedAuthorizationRequest(
        as,
        client,
        oauth.ClientSecretBasic('wrong secret'),
        parameters,
        insecure,
      );
      await expect(oauth.processPushedAuthorizationResponse(as, client, wrong)).rejects.toThrow();
      expect(wrong.status).toBe(401);

      const replayed = await oauth.pushedAuthorizationRequest(
        as,
        client,
        oauth.ClientSecretBasic(made.secret!),
        { ...parameters, request_uri: 'urn:ietf:params:oauth:request_uri:abc' },
        insecure,
      );
      await expect(
        oauth.processPushedAuthorizationResponse(as, client, replayed),
      ).rejects.toMatchObject({ error: 'invalid_request', status: 400 });
    });
  });
});
