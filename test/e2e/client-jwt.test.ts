import { decodeJwt } from 'jose';
import * as oauth from 'oauth4webapi';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { type RunningServer, startServer } from '../helpers/app.js';
import { Browser } from '../helpers/browser.js';
import { JWT_BEARER, keyPair, makeKeyedClient, signWith } from '../helpers/client-jwt.js';
import {
  authorizeAndConsent,
  makeClient,
  makeUser,
  REDIRECT_URI,
  signInBrowser,
} from '../helpers/oauth.js';

/**
 * Standard clients authenticating with JWTs against a listening Tessera: openid-client's
 * PrivateKeyJwt and ClientSecretJwt (client_credentials, a code flow's refresh, revocation,
 * introspection), its genericGrantRequest for the JWT bearer grant, and oauth4webapi's
 * PrivateKeyJwt, ClientSecretJwt and genericTokenEndpointRequest (the JWT bearer grant). The
 * libraries make their own assertions (aud, jti, exp) the way they do for every server, so this
 * is what a real service account sends.
 */
describe('JWT client authentication with standard clients', () => {
  let server: RunningServer;
  let ctx: AppContext;
  beforeAll(async () => {
    server = await startServer();
    ctx = server.app.tessera;
  });
  afterAll(async () => server.close());

  const discover = (clientId: string, auth: oidc.ClientAuth) =>
    oidc.discovery(new URL(server.url), clientId, {}, auth, {
      execute: [oidc.allowInsecureRequests],
    });

  async function codeFlowTokens(config: oidc.Configuration) {
    const { user } = await makeUser(ctx);
    const browser = new Browser(server.url);
    await signInBrowser(ctx, browser, user);
    const verifier = oidc.randomPKCECodeVerifier();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT_URI,
      scope: 'openid profile offline_access',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state: 'st',
    });
    const page = await authorizeAndConsent(browser, url.toString());
    const tokens = await oidc.authorizationCodeGrant(config, new URL(page.location!), {
      pkceCodeVerifier: verifier,
      expectedState: 'st',
    });
    return { tokens, user };
  }

  async function everything(config: oidc.Configuration) {
    const cc = await oidc.clientCredentialsGrant(config, { scope: 'api:read' });
    expect(cc.scope).toBe('api:read');
    const ccIntrospected = await oidc.tokenIntrospection(config, cc.access_token);
    expect(ccIntrospected.active).toBe(true);

    const { tokens, user } = await codeFlowTokens(config);
    expect(tokens.claims()?.sub).toBe(user.id);
    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
    expect(refreshed.claims()?.sub).toBe(user.id);
    await oidc.tokenRevocation(config, refreshed.refresh_token!);
    const introspected = await oidc.tokenIntrospection(config, refreshed.access_token);
    expect(introspected.active).toBe(false);
    await expect(oidc.refreshTokenGrant(config, refreshed.refresh_token!)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
  }

  const grants = ['authorization_code', 'refresh_token', 'client_credentials'];
  const scopes = ['openid', 'profile', 'offline_access', 'api:read'];

  it.each(['ES256', 'RS256', 'PS256', 'EdDSA'])(
    'openid-client PrivateKeyJwt (%s): client_credentials, refresh, revoke, introspect',
    async (alg) => {
      const key = await keyPair(alg);
      const tc = await makeKeyedClient(ctx, { grantTypes: grants, scopes, firstParty: true }, key);
      const config = await discover(
        tc.client.id,
        oidc.PrivateKeyJwt({ key: key.privateKey, kid: key.kid }),
      );
      await everything(config);
    },
  );

  it('openid-client ClientSecretJwt: client_credentials, refresh, revoke, introspect', async () => {
    const tc = await makeClient(ctx, {
      tokenEndpointAuthMethod: 'client_secret_jwt',
      grantTypes: grants,
      scopes,
      firstParty: true,
    });
    const config = await discover(tc.client.id, oidc.ClientSecretJwt(tc.secret!));
    await everything(config);
  });

  it('openid-client genericGrantRequest: the JWT bearer grant, for itself and for a person', async () => {
    const key = await keyPair();
    const { user } = await makeUser(ctx);
    const tc = await makeKeyedClient(
      ctx,
      { grantTypes: [JWT_BEARER], scopes, jwtBearerSubjects: [user.id] },
      key,
    );
    const now = Math.floor(Date.now() / 1000);
    const assertion = (sub: string) =>
      signWith(key, {
        iss: tc.client.id,
        sub,
        aud: server.url,
        iat: now,
        exp: now + 120,
        jti: crypto.randomUUID(),
      });
    // No client authentication: the assertion proves the client (RFC 7523 §3.1).
    const anonymous = await discover(tc.client.id, oidc.None());

    const own = await oidc.genericGrantRequest(anonymous, JWT_BEARER, {
      assertion: await assertion(tc.client.id),
      scope: 'api:read',
    });
    expect(own.scope).toBe('api:read');
    expect(own.refresh_token).toBeUndefined();
    // With client authentication too.
    const keyed = await discover(tc.client.id, oidc.PrivateKeyJwt(key.privateKey));
    const forPerson = await oidc.genericGrantRequest(keyed, JWT_BEARER, {
      assertion: await assertion(user.id),
      scope: 'openid profile',
    });
    const info = await oidc.fetchUserInfo(keyed, forPerson.access_token, user.id);
    expect(info.sub).toBe(user.id);
    await expect(
      oidc.genericGrantRequest(anonymous, JWT_BEARER, { assertion: await assertion('stranger') }),
    ).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('oauth4webapi PrivateKeyJwt: client_credentials and introspection', async () => {
    const key = await keyPair('ES256');
    const tc = await makeKeyedClient(ctx, { scopes: ['api:read'] }, key);
    const issuer = new URL(server.url);
    const insecure = { [oauth.allowInsecureRequests]: true };
    const as = await oauth.processDiscoveryResponse(
      issuer,
      await oauth.discoveryRequest(issuer, insecure),
    );
    const client: oauth.Client = { client_id: tc.client.id };
    const auth = oauth.PrivateKeyJwt({ key: key.privateKey, kid: key.kid });
    const response = await oauth.clientCredentialsGrantRequest(
      as,
      client,
      auth,
      new URLSearchParams({ scope: 'api:read' }),
      insecure,
    );
    const result = await oauth.processClientCredentialsResponse(as, client, response);
    expect(result.scope).toBe('api:read');
    const introspection = await oauth.processIntrospectionResponse(
      as,
      client,
      await oauth.introspectionRequest(as, client, auth, result.access_token, insecure),
    );
    expect(introspection.active).toBe(true);
    expect(introspection.client_id).toBe(tc.client.id);
  });
  async function oauth4webapiServer() {
    const issuer = new URL(server.url);
    const insecure = { [oauth.allowInsecureRequests]: true };
    const as = await oauth.processDiscoveryResponse(
      issuer,
      await oauth.discoveryRequest(issuer, insecure),
    );
    return { as, insecure };
  }

  it('oauth4webapi ClientSecretJwt: client_credentials and revocation', async () => {
    const tc = await makeClient(ctx, {
      tokenEndpointAuthMethod: 'client_secret_jwt',
      grantTypes: ['client_credentials'],
      scopes: ['api:read', 'api:write'],
    });
    const { as, insecure } = await oauth4webapiServer();
    const client: oauth.Client = { client_id: tc.client.id };
    const auth = oauth.ClientSecretJwt(tc.secret!);
    const result = await oauth.processClientCredentialsResponse(
      as,
      client,
      await oauth.clientCredentialsGrantRequest(
        as,
        client,
        auth,
        new URLSearchParams({ scope: 'api:read' }),
        insecure,
      ),
    );
    expect(result.scope).toBe('api:read');
    expect(decodeJwt(result.access_token)).toMatchObject({ client_id: tc.client.id });
    await oauth.processRevocationResponse(
      await oauth.revocationRequest(as, client, auth, result.access_token, insecure),
    );
    const introspection = await oauth.processIntrospectionResponse(
      as,
      client,
      await oauth.introspectionRequest(as, client, auth, result.access_token, insecure),
    );
    expect(introspection.active).toBe(false);
    // Another secret signs an assertion Tessera refuses: a 401 with the Basic challenge, which
    // oauth4webapi raises as such, the invalid_client body still readable.
    const refused = await oauth
      .processClientCredentialsResponse(
        as,
        client,
        await oauth.clientCredentialsGrantRequest(
          as,
          client,
          oauth.ClientSecretJwt('not-the-secret'),
          new URLSearchParams(),
          insecure,
        ),
      )
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(oauth.WWWAuthenticateChallengeError);
    const challenge = refused as oauth.WWWAuthenticateChallengeError;
    expect(challenge.status).toBe(401);
    expect(challenge.cause[0]?.scheme).toBe('basic');
    const body = (await challenge.response.json()) as Record<string, string>;
    expect(body.error).toBe('invalid_client');
    expect(body.error_description).toMatch(/does not verify/);
  });

  it('oauth4webapi genericTokenEndpointRequest: the JWT bearer grant, a replay refused', async () => {
    const key = await keyPair('ES256');
    const { user } = await makeUser(ctx);
    const tc = await makeKeyedClient(
      ctx,
      { grantTypes: [JWT_BEARER], scopes, jwtBearerSubjects: [user.id] },
      key,
    );
    const { as, insecure } = await oauth4webapiServer();
    const client: oauth.Client = { client_id: tc.client.id };
    const now = Math.floor(Date.now() / 1000);
    const assertion = (sub: string) =>
      signWith(key, {
        iss: tc.client.id,
        sub,
        aud: as.token_endpoint,
        iat: now,
        exp: now + 120,
        jti: crypto.randomUUID(),
      });
    const grant = async (auth: oauth.ClientAuth, parameters: Record<string, string>) =>
      oauth.processGenericTokenEndpointResponse(
        as,
        client,
        await oauth.genericTokenEndpointRequest(as, client, auth, JWT_BEARER, parameters, insecure),
      );

    // Without client authentication (the assertion proves the client, RFC 7523 §3.1).
    const own = await assertion(tc.client.id);
    const answer = await grant(oauth.None(), { assertion: own, scope: 'api:read' });
    expect(answer.token_type).toBe('bearer');
    expect(answer.scope).toBe('api:read');
    expect(answer.refresh_token).toBeUndefined();
    expect(decodeJwt(answer.access_token)).toMatchObject({
      sub: tc.client.id,
      client_id: tc.client.id,
    });
    // For a person the client may act for, with private_key_jwt client authentication as well.
    const forPerson = await grant(oauth.PrivateKeyJwt({ key: key.privateKey, kid: key.kid }), {
      assertion: await assertion(user.id),
      scope: 'openid profile',
    });
    expect(decodeJwt(forPerson.access_token)).toMatchObject({ sub: user.id });
    // The same assertion again: invalid_grant, saying why.
    const replayed = await grant(oauth.None(), { assertion: own }).catch((error: unknown) => error);
    expect(replayed).toBeInstanceOf(oauth.ResponseBodyError);
    expect((replayed as oauth.ResponseBodyError).error).toBe('invalid_grant');
    expect((replayed as oauth.ResponseBodyError).error_description).toMatch(/used before/);
  });
});
