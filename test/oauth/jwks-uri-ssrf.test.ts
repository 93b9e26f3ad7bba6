import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClientRegistration } from '../../src/store/types.js';
import { type RunningServer, startServer } from '../helpers/app.js';
import {
  assertionClaims,
  CLIENT_ASSERTION_TYPE,
  type KeyPair,
  keyPair,
  makeKeyedClient,
  signWith,
} from '../helpers/client-jwt.js';
import {
  clientDocument,
  type DocumentServer,
  startDocumentServer,
} from '../helpers/document-server.js';
import { type CapturedLog, captureLog } from '../helpers/log.js';
import { authorizePath, type HttpAnswer, pkce, postForm, postJson } from '../helpers/oauth.js';

/**
 * Review of issue 13, defect 2: a jwks_uri of a client anyone can make (a metadata document, or
 * /register in open mode) must not make Tessera call into its own network, in production or not,
 * and a failed fetch must not tell the client what answered (a port and host scanning oracle).
 * An admin's client keeps internal addresses outside production (test/oauth/jwks-uri.test.ts).
 */

const INTERNAL_URIS = [
  'https://169.254.169.254/latest/meta-data',
  'https://10.0.0.1/jwks',
  'https://[::ffff:a00:1]/jwks',
  'https://[64:ff9b::a9fe:a9fe]/jwks',
  'https://localhost/jwks',
];

const now = () => Math.floor(Date.now() / 1000);

const authenticate = async (server: RunningServer, clientId: string, key: KeyPair) =>
  postForm(server.url, '/token', {
    grant_type: 'authorization_code',
    client_id: clientId,
    code: 'not-a-code',
    redirect_uri: 'https://app.example.com/callback',
    code_verifier: pkce().verifier,
    client_assertion_type: CLIENT_ASSERTION_TYPE,
    client_assertion: await signWith(key, assertionClaims(clientId, server.url, now())),
  });

const registerKeyed = (server: RunningServer, jwksUri: string) =>
  postJson(server.url, '/register', {
    redirect_uris: ['https://app.example.com/callback'],
    token_endpoint_auth_method: 'private_key_jwt',
    token_endpoint_auth_signing_alg: 'ES256',
    jwks_uri: jwksUri,
  });

function expectMetadataRefusal(res: HttpAnswer, uri: string) {
  expect(res.status, `${uri}: ${res.text}`).toBe(400);
  expect(res.body.error).toBe('invalid_client_metadata');
  expect(res.body.error_description).toMatch(/jwks_uri must (not point at a loopback|be https)/);
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

describe('jwks_uri of self-registered clients, outside production, loopback not allowed', () => {
  let keys: DocumentServer;
  let server: RunningServer;
  let log: CapturedLog;
  beforeAll(async () => {
    keys = await startDocumentServer();
    log = captureLog('warn');
    server = await startServer({
      logger: log.logger,
      env: { TESSERA_REGISTRATION: 'open', TESSERA_REGISTRATION_RATE_LIMIT: '1000' },
    });
  });
  afterAll(async () => {
    await server.close();
    await keys.close();
  });

  async function storedClient(registration: ClientRegistration, jwksUri: string) {
    const key = await keyPair();
    const made = await makeKeyedClient(
      server.app.tessera,
      { jwks: null, jwksUri, registration, redirectUris: ['https://app.example.com/callback'] },
      key,
    );
    return { id: made.client.id, key };
  }

  it('/register refuses a jwks_uri on an internal address, by literal or name, loopback included', async () => {
    for (const uri of [...INTERNAL_URIS, `${keys.url}/keys`, 'http://localhost:8080/jwks']) {
      expectMetadataRefusal(await registerKeyed(server, uri), uri);
    }
    const ok = await registerKeyed(server, 'https://keys.example.com/jwks');
    expect(ok.status, ok.text).toBe(201);
  });

  it('refuses at fetch time a name that resolves inside, without connecting', async () => {
    const key = await keyPair();
    const path = keys.serve('/resolved', { body: { keys: [key.publicJwk] } });
    // Stored directly: at registration its name resolved elsewhere; now it points at loopback.
    for (const registration of ['dynamic', 'metadata_document'] as const) {
      const port = new URL(keys.url).port;
      const client = await storedClient(registration, `http://localhost:${port}/resolved`);
      const res = await authenticate(server, client.id, client.key);
      expect(res.status, res.text).toBe(401);
      expect(res.body.error_description).toContain(
        "the client's jwks_uri is on a loopback, private or link-local address",
      );
    }
    expect(keys.hits(new URL(path).pathname)).toBe(0);
  });

  it('an admin’s client still reaches loopback outside production', async () => {
    const key = await keyPair();
    keys.serve('/admin-keys', { body: { keys: [key.publicJwk] } });
    const made = await makeKeyedClient(
      server.app.tessera,
      { jwks: null, jwksUri: `${keys.url}/admin-keys`, grantTypes: ['client_credentials'] },
      key,
    );
    const res = await postForm(server.url, '/token', {
      grant_type: 'client_credentials',
      client_assertion_type: CLIENT_ASSERTION_TYPE,
      client_assertion: await signWith(key, assertionClaims(made.client.id, server.url, now())),
    });
    expect(res.status, res.text).toBe(200);
  });

  it('tells the client only that its jwks_uri could not be fetched, and logs the network error', async () => {
    const port = await closedPort();
    // https to a plain http server (a TLS error) and a closed port (ECONNREFUSED).
    for (const uri of [
      `${keys.url.replace('http:', 'https:')}/keys`,
      `https://127.0.0.1:${port}/`,
    ]) {
      const key = await keyPair();
      const made = await makeKeyedClient(
        server.app.tessera,
        { jwks: null, jwksUri: uri, redirectUris: ['https://app.example.com/callback'] },
        key,
      );
      const logged = log.next((line) => line.jwksUri === uri);
      const res = await authenticate(server, made.client.id, key);
      expect(res.status, uri).toBe(401);
      expect(res.body.error_description, uri).toMatch(
        /: the client's jwks_uri could not be fetched$/,
      );
      const line = await logged;
      expect(line.clientId).toBe(made.client.id);
      expect(String(line.detail), uri).toMatch(/ECONNREFUSED|SSL|TLS|packet|version/i);
    }
  });
});

describe('jwks_uri of metadata documents and self-registered clients, with TESSERA_CIMD_ALLOW_LOOPBACK', () => {
  let docs: DocumentServer;
  let server: RunningServer;
  let paths = 0;
  beforeAll(async () => {
    docs = await startDocumentServer();
    server = await startServer({
      env: {
        TESSERA_CIMD_ALLOW_LOOPBACK: 'true',
        TESSERA_REGISTRATION: 'open',
        TESSERA_REGISTRATION_RATE_LIMIT: '1000',
      },
    });
  });
  afterAll(async () => {
    await server.close();
    await docs.close();
  });

  function publish(jwksUri: string): string {
    const path = `/clients/${++paths}.json`;
    const url = `${docs.url}${path}`;
    docs.serve(path, {
      body: clientDocument(url, {
        token_endpoint_auth_method: 'private_key_jwt',
        token_endpoint_auth_signing_alg: 'ES256',
        jwks_uri: jwksUri,
      }),
    });
    return url;
  }

  it('refuses a document whose jwks_uri is internal (not loopback), at /authorize and at /token', async () => {
    const key = await keyPair();
    for (const uri of INTERNAL_URIS.filter((u) => !u.includes('localhost'))) {
      const clientId = publish(uri);
      const page = await fetch(
        `${server.url}${authorizePath({
          response_type: 'code',
          client_id: clientId,
          redirect_uri: 'https://app.example.com/callback',
          scope: 'openid',
          code_challenge: pkce().challenge,
          code_challenge_method: 'S256',
        })}`,
        { redirect: 'manual' },
      );
      expect(page.status, uri).toBe(400);
      expect(await page.text(), uri).toContain(
        'must not point at a loopback, private or link-local',
      );
      const res = await authenticate(server, clientId, key);
      expect(res.status, uri).toBe(401);
      expect(res.body.error, uri).toBe('invalid_client');
      expect(res.body.error_description, uri).toContain('jwks_uri must not point at a loopback');
    }
  });

  it('/register refuses a private jwks_uri, and takes a loopback one', async () => {
    for (const uri of INTERNAL_URIS.filter((u) => !u.includes('localhost'))) {
      expectMetadataRefusal(await registerKeyed(server, uri), uri);
    }
    const loopback = await registerKeyed(server, `${docs.url}/keys`);
    expect(loopback.status, loopback.text).toBe(201);
  });

  it('a document client’s loopback jwks_uri is fetched and its assertion accepted', async () => {
    const key = await keyPair();
    docs.serve('/loopback-keys', { body: { keys: [key.publicJwk] } });
    const clientId = publish(`${docs.url}/loopback-keys`);
    const res = await authenticate(server, clientId, key);
    // Past client authentication: the made-up code is what is refused.
    expect(res.body.error, res.text).toBe('invalid_grant');
    expect(docs.hits('/loopback-keys')).toBe(1);
  });
});
