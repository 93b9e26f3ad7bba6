import { decodeJwt } from 'jose';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApi } from '../../src/domain/apis.js';
import { type RunningServer, startServer } from '../helpers/app.js';
import { Browser } from '../helpers/browser.js';
import {
  authorizeAndConsent,
  makeClient,
  makeUser,
  REDIRECT_URI,
  signInBrowser,
} from '../helpers/oauth.js';

const ORDERS = 'https://orders.example.com/';
const MAIL = 'https://mail.example.com/';

/**
 * openid-client, a strict relying party, asking for tokens for registered APIs with `resource`
 * (RFC 8707) at /authorize and /token, against a listening Tessera.
 */
describe.each([
  ['at the root', undefined],
  ['under a path', '/tenant-a'],
])('openid-client with resource indicators, issuer %s', (_where, issuerPath) => {
  let server: RunningServer;
  let introspectors: Record<string, { id: string; secret: string }>;
  beforeAll(async () => {
    server = await startServer(issuerPath ? { issuerPath } : {});
    introspectors = {};
    for (const [identifier, name, scopes] of [
      [ORDERS, 'Orders API', ['orders:read']],
      [MAIL, 'Mail API', ['mail:read']],
    ] as const) {
      const { api, secret } = await createApi(server.app.tessera, {
        identifier,
        name,
        scopes: [...scopes],
      });
      introspectors[identifier] = { id: api.clientId, secret };
    }
  });
  afterAll(async () => server.close());

  it('gets a token per API from one authorization, refreshes to the other, and each API sees only its own', async () => {
    const ctx = server.app.tessera;
    const { client, secret } = await makeClient(ctx, { allowedResources: [ORDERS, MAIL] });
    const config = await oidc.discovery(
      new URL(server.url),
      client.id,
      {},
      oidc.ClientSecretBasic(secret!),
      { execute: [oidc.allowInsecureRequests] },
    );
    const { user } = await makeUser(ctx);
    const browser = new Browser(server.url);
    await signInBrowser(ctx, browser, user);

    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const parameters = new URLSearchParams({
      redirect_uri: REDIRECT_URI,
      scope: 'openid offline_access orders:read mail:read',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    parameters.append('resource', ORDERS);
    parameters.append('resource', MAIL);
    const url = oidc.buildAuthorizationUrl(config, parameters);
    const page = await authorizeAndConsent(browser, url.toString());

    const tokens = await oidc.authorizationCodeGrant(
      config,
      new URL(page.location!),
      { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce },
      { resource: ORDERS },
    );
    expect(tokens.claims()?.sub).toBe(user.id);
    expect(tokens.scope).toBe('orders:read');
    expect(decodeJwt(tokens.access_token)).toMatchObject({ aud: ORDERS, scope: 'orders:read' });

    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!, {
      resource: MAIL,
    });
    expect(decodeJwt(refreshed.access_token)).toMatchObject({ aud: MAIL, scope: 'mail:read' });

    await expect(
      oidc.refreshTokenGrant(config, refreshed.refresh_token!, {
        resource: 'https://elsewhere.example.com/',
      }),
    ).rejects.toMatchObject({ error: 'invalid_target' });

    // Each API, introspecting as itself, sees its own token and not the other's.
    for (const [identifier, token, other] of [
      [ORDERS, tokens.access_token, refreshed.access_token],
      [MAIL, refreshed.access_token, tokens.access_token],
    ] as const) {
      const { id, secret: apiSecret } = introspectors[identifier]!;
      const asApi = await oidc.discovery(
        new URL(server.url),
        id,
        {},
        oidc.ClientSecretBasic(apiSecret),
        { execute: [oidc.allowInsecureRequests] },
      );
      expect(await oidc.tokenIntrospection(asApi, token)).toMatchObject({
        active: true,
        aud: identifier,
      });
      expect((await oidc.tokenIntrospection(asApi, other)).active).toBe(false);
    }
  });
});
