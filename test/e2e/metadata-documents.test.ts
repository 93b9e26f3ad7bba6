import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, startServer } from '../helpers/app.js';
import { Browser } from '../helpers/browser.js';
import { keyPair } from '../helpers/client-jwt.js';
import { TEST_ADMIN_KEY } from '../helpers/config.js';
import {
  clientDocument,
  type DocumentServer,
  startDocumentServer,
} from '../helpers/document-server.js';
import { authorizeAndConsent, makeUser, REDIRECT_URI, signInBrowser } from '../helpers/oauth.js';

/**
 * openid-client with a client nobody registered: its client_id is the URL of its Client ID
 * Metadata Document, served by a local HTTP server; Tessera fetches it on first sight.
 */
describe('openid-client with a Client ID Metadata Document', () => {
  let docs: DocumentServer;
  let server: RunningServer;
  beforeAll(async () => {
    docs = await startDocumentServer();
    server = await startServer({ env: { TESSERA_CIMD_ALLOW_LOOPBACK: 'true' } });
  });
  afterAll(async () => {
    await server.close();
    await docs.close();
  });

  async function codeFlow(config: oidc.Configuration) {
    const { user } = await makeUser(server.app.tessera);
    const browser = new Browser(server.url);
    await signInBrowser(server.app.tessera, browser, user);
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT_URI,
      scope: 'openid profile offline_access',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
    });
    const page = await authorizeAndConsent(browser, url.toString());
    const tokens = await oidc.authorizationCodeGrant(config, new URL(page.location!), {
      pkceCodeVerifier: verifier,
      expectedState: state,
      idTokenExpected: true,
    });
    return { user, tokens };
  }

  it('runs the code flow with PKCE as a public client, refreshes, and the admin API shows it as a metadata_document client', async () => {
    const clientId = docs.serve('/agent/client.json', () => ({
      body: clientDocument(`${docs.url}/agent/client.json`, { client_name: 'Agent' }),
      headers: { 'cache-control': 'max-age=300' },
    }));
    const config = await oidc.discovery(new URL(server.url), clientId, {}, oidc.None(), {
      execute: [oidc.allowInsecureRequests],
    });
    expect(config.serverMetadata().client_id_metadata_document_supported).toBe(true);
    const { user, tokens } = await codeFlow(config);
    const claims = tokens.claims()!;
    expect(claims.sub).toBe(user.id);
    expect(claims.aud).toBe(clientId);
    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
    expect(refreshed.access_token).toBeTruthy();
    // Fetched once: the authorize, token and refresh requests used the cached document.
    expect(docs.hits('/agent/client.json')).toBe(1);
    const grant = await server.app.tessera.store.grants.find(user.id, clientId);
    expect(grant?.scopes).toContain('openid');
    // The admin API shows it as any client, marked as read from its document.
    const res = await fetch(`${server.url}/admin/api/clients/${encodeURIComponent(clientId)}`, {
      headers: { 'x-admin-key': TEST_ADMIN_KEY },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      client_id: clientId,
      client_name: 'Agent',
      registration: 'metadata_document',
    });
  });

  it('runs the code flow as a private_key_jwt client whose keys are in the document', async () => {
    const key = await keyPair('ES256');
    const clientId = docs.serve('/keyed/client.json', {
      body: clientDocument(`${docs.url}/keyed/client.json`, {
        token_endpoint_auth_method: 'private_key_jwt',
        jwks: { keys: [key.publicJwk] },
      }),
    });
    const config = await oidc.discovery(
      new URL(server.url),
      clientId,
      {},
      oidc.PrivateKeyJwt({ key: key.privateKey, kid: key.kid }),
      { execute: [oidc.allowInsecureRequests] },
    );
    const { tokens } = await codeFlow(config);
    expect(tokens.claims()?.aud).toBe(clientId);
  });
});
