import { calculateJwkThumbprint, decodeJwt, exportJWK } from 'jose';
import * as oauth from 'oauth4webapi';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { type RunningServer, startServer } from '../helpers/app.js';
import { Browser } from '../helpers/browser.js';
import {
  authorizeAndConsent,
  introspect,
  makeClient,
  makeUser,
  REDIRECT_URI,
  signInBrowser,
  userinfo,
} from '../helpers/oauth.js';

const insecure = { [oauth.allowInsecureRequests]: true };

const thumbprintOf = async (key: Parameters<typeof exportJWK>[0]) =>
  calculateJwkThumbprint(await exportJWK(key));

/**
 * DPoP (RFC 9449) with the two strict clients, against a listening Tessera, with server nonces
 * off and on: openid-client's getDPoPHandle and oauth4webapi's DPoP handle make the proofs, retry
 * on use_dpop_nonce, and check that the token_type is DPoP.
 */
describe.each([
  ['nonces off', 'off'],
  ['nonces on', 'on'],
])('DPoP with standard clients (%s)', (_name, nonce) => {
  let server: RunningServer;
  let ctx: AppContext;
  beforeAll(async () => {
    server = await startServer({ env: { TESSERA_DPOP_NONCE: nonce } });
    ctx = server.app.tessera;
  });
  afterAll(async () => server.close());

  describe('openid-client getDPoPHandle', () => {
    async function configFor(made: Awaited<ReturnType<typeof makeClient>>) {
      return oidc.discovery(
        new URL(server.url),
        made.client.id,
        {},
        made.secret ? oidc.ClientSecretBasic(made.secret) : oidc.None(),
        { execute: [oidc.allowInsecureRequests] },
      );
    }

    it('runs the code flow, userinfo and refresh of a public client with bound tokens', async () => {
      const made = await makeClient(ctx, { type: 'public' });
      const config = await configFor(made);
      const keyPair = await oidc.randomDPoPKeyPair();
      const DPoP = oidc.getDPoPHandle(config, keyPair);
      const { user } = await makeUser(ctx);
      const browser = new Browser(server.url);
      await signInBrowser(ctx, browser, user);
      const verifier = oidc.randomPKCECodeVerifier();
      const state = oidc.randomState();
      const url = oidc.buildAuthorizationUrl(config, {
        redirect_uri: REDIRECT_URI,
        scope: 'openid profile offline_access',
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state,
        dpop_jkt: await thumbprintOf(keyPair.publicKey),
      });
      const page = await authorizeAndConsent(browser, url.toString());
      const tokens = await oidc.authorizationCodeGrant(
        config,
        new URL(page.location!),
        { pkceCodeVerifier: verifier, expectedState: state },
        undefined,
        { DPoP },
      );
      expect(tokens.token_type).toBe('dpop');
      const jkt = await thumbprintOf(keyPair.publicKey);
      expect(decodeJwt(tokens.access_token).cnf).toEqual({ jkt });

      const info = await oidc.fetchUserInfo(config, tokens.access_token, user.id, { DPoP });
      expect(info.sub).toBe(user.id);
      // Without the key, the token is worth nothing.
      expect((await userinfo(server.url, tokens.access_token)).status).toBe(401);

      const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!, undefined, {
        DPoP,
      });
      expect(refreshed.token_type).toBe('dpop');
      // Another key cannot use the refresh token.
      const thief = oidc.getDPoPHandle(config, await oidc.randomDPoPKeyPair());
      await expect(
        oidc.refreshTokenGrant(config, refreshed.refresh_token!, undefined, { DPoP: thief }),
      ).rejects.toMatchObject({ error: 'invalid_grant' });
    });

    it('runs client_credentials with a bound token, which introspection reports', async () => {
      const made = await makeClient(ctx, {
        grantTypes: ['client_credentials'],
        scopes: ['api:read'],
        resourceServer: true,
        dpopBoundAccessTokens: true,
      });
      const config = await configFor(made);
      const keyPair = await oidc.randomDPoPKeyPair('EdDSA');
      const tokens = await oidc.clientCredentialsGrant(
        config,
        { scope: 'api:read' },
        {
          DPoP: oidc.getDPoPHandle(config, keyPair),
        },
      );
      expect(tokens.token_type).toBe('dpop');
      const seen = await introspect(server.url, made, tokens.access_token);
      expect(seen.body).toMatchObject({
        active: true,
        token_type: 'DPoP',
        cnf: { jkt: await thumbprintOf(keyPair.publicKey) },
      });
      // The same client without a proof is refused: it registered dpop_bound_access_tokens.
      await expect(
        oidc.clientCredentialsGrant(config, { scope: 'api:read' }),
      ).rejects.toMatchObject({ error: 'invalid_request' });
    });
  });

  describe('oauth4webapi DPoP handle', () => {
    let as: oauth.AuthorizationServer;
    beforeAll(async () => {
      const issuer = new URL(server.url);
      as = await oauth.processDiscoveryResponse(
        issuer,
        await oauth.discoveryRequest(issuer, insecure),
      );
    });

    /** One request, tried again once when the server asks for a nonce (RFC 9449 §8). */
    async function withNonceRetry<T>(attempt: () => Promise<T>): Promise<T> {
      try {
        return await attempt();
      } catch (error) {
        if (oauth.isDPoPNonceError(error)) return attempt();
        throw error;
      }
    }

    it('runs the code flow and userinfo of a confidential client with bound tokens', async () => {
      const made = await makeClient(ctx);
      const client: oauth.Client = { client_id: made.client.id };
      const auth = oauth.ClientSecretBasic(made.secret!);
      const keyPair = await oauth.generateKeyPair('ES256');
      const DPoP = oauth.DPoP(client, keyPair);
      const { user } = await makeUser(ctx);
      const browser = new Browser(server.url);
      await signInBrowser(ctx, browser, user);
      const verifier = oauth.generateRandomCodeVerifier();
      const state = oauth.generateRandomState();
      const nonceValue = oauth.generateRandomNonce();
      const url = new URL(as.authorization_endpoint!);
      url.search = new URLSearchParams({
        client_id: client.client_id,
        redirect_uri: REDIRECT_URI,
        response_type: 'code',
        scope: 'openid profile',
        code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state,
        nonce: nonceValue,
      }).toString();
      const page = await authorizeAndConsent(browser, url.toString());
      const params = oauth.validateAuthResponse(as, client, new URL(page.location!), state);
      const result = await withNonceRetry(async () =>
        oauth.processAuthorizationCodeResponse(
          as,
          client,
          await oauth.authorizationCodeGrantRequest(
            as,
            client,
            auth,
            params,
            REDIRECT_URI,
            verifier,
            { ...insecure, DPoP },
          ),
          { expectedNonce: nonceValue, requireIdToken: true },
        ),
      );
      expect(result.token_type).toBe('dpop');
      const sub = oauth.getValidatedIdTokenClaims(result)!.sub;
      const info = await withNonceRetry(async () =>
        oauth.processUserInfoResponse(
          as,
          client,
          sub,
          await oauth.userInfoRequest(as, client, result.access_token, { ...insecure, DPoP }),
        ),
      );
      expect(info.sub).toBe(user.id);
    });
  });
});
