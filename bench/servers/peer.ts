/*
 * The peer: oidc-provider v9 configured like Tessera for the benchmark's
 * scenarios. Same grants (authorization_code with PKCE, refresh_token with
 * rotation on every use, client_credentials), ES256 JWT access tokens for the
 * API resource (resourceIndicators), RS256 ID tokens for one person client (both servers'
 * default) and ES256 for a second, the same on Tessera's side,
 * client_secret_basic (and one private_key_jwt client, ES256, for g), introspection and userinfo on, the same lifetimes, one
 * fixed account, and a Map adapter that never evicts. Its own development
 * interactions stand in for the sign-in and consent pages; the benchmark only
 * goes through them once, during set-up.
 */
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';
import { randomToken } from '../../src/lib/random.js';
import { cpuMicros, memoryMb, serveParent } from '../lib/ipc.js';
import {
  benchKeyPair,
  ID_TOKEN_ALGS,
  type IdTokenAlg,
  type KeyedBenchClient,
  PERSON_SCOPE,
  REDIRECT_URI,
  SERVICE_SCOPE,
} from './fixtures.js';
import { MapAdapter, storedRows } from './peer-adapter.js';
import { closePgAdapter, openPgAdapter, PgAdapter, storedPgRows } from './peer-pg-adapter.js';
import { startProfile, stopProfile } from './profiler.js';

/** The API whose access tokens are ES256 JWTs (RFC 9068), as Tessera's are by default. */
export const API_RESOURCE = 'https://api.example.com/';
export const PEER_ACCOUNT = 'bench-user';

export interface PeerClients {
  service: { id: string; secret: string };
  /** g: client_credentials with private_key_jwt, the same grant as `service`'s. */
  keyed: KeyedBenchClient;
  /** The person clients, one per ID-token algorithm (b and e are measured with each). */
  web: Record<IdTokenAlg, { id: string; secret: string }>;
}

// The issuer names the port, so the server listens first (on a port the system chooses) and is
// handed the provider's requests once the provider exists.
const server = createHttpServer();
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
const keyedPair = benchKeyPair('keyed-key');
const clients: PeerClients = {
  service: { id: 'bench-service', secret: randomToken(32) },
  keyed: { id: 'bench-keyed', kid: 'keyed-key', privateJwk: keyedPair.privateJwk },
  web: {
    RS256: { id: 'bench-web', secret: randomToken(32) },
    ES256: { id: 'bench-web-es256', secret: randomToken(32) },
  },
};
const es256 = await generateKeyPair('ES256', { extractable: true });
const rs256 = await generateKeyPair('RS256', { extractable: true });
const HOUR = 3600;

// The in-memory peer by default; BENCH_PEER_ADAPTER=postgres makes it the durable one, on the
// PostgreSQL of the run (BENCH_PG_URL), in a schema of its own (BENCH_PG_SCHEMA).
const durable = process.env.BENCH_PEER_ADAPTER === 'postgres';
if (durable) await openPgAdapter(process.env.BENCH_PG_URL!, process.env.BENCH_PG_SCHEMA!);

const provider = new Provider(issuer, {
  adapter: durable ? PgAdapter : MapAdapter,
  clients: [
    {
      client_id: clients.service.id,
      client_secret: clients.service.secret,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      scope: SERVICE_SCOPE,
      token_endpoint_auth_method: 'client_secret_basic',
    },
    {
      client_id: clients.keyed.id,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      scope: SERVICE_SCOPE,
      token_endpoint_auth_method: 'private_key_jwt',
      token_endpoint_auth_signing_alg: 'ES256',
      jwks: { keys: [keyedPair.publicJwk] },
    },
    ...ID_TOKEN_ALGS.map((alg) => ({
      client_id: clients.web[alg].id,
      client_secret: clients.web[alg].secret,
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: [REDIRECT_URI],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: alg,
    })),
  ],
  jwks: {
    keys: [
      { ...(await exportJWK(rs256.privateKey)), kid: 'rs256', alg: 'RS256', use: 'sig' },
      { ...(await exportJWK(es256.privateKey)), kid: 'es256', alg: 'ES256', use: 'sig' },
    ],
  },
  cookies: { keys: [randomToken(32)] },
  scopes: ['openid', 'offline_access', 'profile', 'email', SERVICE_SCOPE],
  claims: {
    openid: ['sub'],
    profile: ['name', 'given_name', 'family_name', 'preferred_username', 'updated_at'],
    email: ['email', 'email_verified'],
  },
  findAccount: (_ctx: unknown, id: string) => ({
    accountId: id,
    claims: () => ({
      sub: id,
      name: 'Ada Lovelace',
      given_name: 'Ada',
      family_name: 'Lovelace',
      preferred_username: 'ada',
      email: 'ada@example.com',
      email_verified: true,
      updated_at: 1_700_000_000,
    }),
  }),
  features: {
    devInteractions: { enabled: true },
    clientCredentials: { enabled: true },
    introspection: {
      enabled: true,
      // The default policy, stated so that the provider does not warn about it.
      allowedPolicy: (
        ctx: { oidc: { client: { clientId: string } } },
        client: { clientAuthMethod: string },
        token: { clientId: string },
      ) => !(client.clientAuthMethod === 'none' && token.clientId !== ctx.oidc.client.clientId),
    },
    revocation: { enabled: true },
    userinfo: { enabled: true },
    resourceIndicators: {
      enabled: true,
      // client_credentials tokens are for the API (JWTs); a person's code-flow token
      // without a resource stays the opaque one userinfo accepts.
      defaultResource: (_ctx: unknown, client: { clientId: string }, oneOf?: string[]) =>
        oneOf ??
        (client.clientId === clients.service.id || client.clientId === clients.keyed.id
          ? API_RESOURCE
          : undefined),
      useGrantedResource: () => false,
      getResourceServerInfo: () => ({
        scope: SERVICE_SCOPE,
        audience: API_RESOURCE,
        accessTokenTTL: HOUR,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: 'ES256' } },
      }),
    },
  },
  // Tessera rotates on every use (RFC 9700 §4.14.2); so does the peer here.
  rotateRefreshToken: true,
  pkce: { required: () => false },
  ttl: {
    AccessToken: HOUR,
    AuthorizationCode: 60,
    ClientCredentials: HOUR,
    IdToken: HOUR,
    RefreshToken: 30 * 24 * HOUR,
    Interaction: HOUR,
    Session: 14 * 24 * HOUR,
    Grant: 30 * 24 * HOUR,
  },
});

server.on('request', provider.callback());

/**
 * `count` refresh tokens cloned from a real one (obtained through the code flow
 * by the benchmark): same account, grant, scope and session, each unused.
 */
async function refreshPool(payload: unknown): Promise<string[]> {
  const { token, count } = payload as { token: string; count: number };
  const original = await provider.RefreshToken.find(token);
  if (!original) throw new Error('the refresh token to clone was not found');
  const fields = [
    'accountId',
    'acr',
    'amr',
    'authTime',
    'claims',
    'expiresWithSession',
    'grantId',
    'gty',
    'nonce',
    'resource',
    'scope',
    'sessionUid',
    'sid',
  ];
  const client = await provider.Client.find(String(original.clientId));
  const out: string[] = [];
  const clone = () => {
    const copy: Record<string, unknown> = { client, iiat: original.iiat };
    for (const field of fields) if (original[field] !== undefined) copy[field] = original[field];
    return new provider.RefreshToken(copy).save();
  };
  // Saved 50 at a time: the durable adapter's inserts are round trips.
  for (let i = 0; i < count; i += 50)
    out.push(...(await Promise.all(Array.from({ length: Math.min(50, count - i) }, clone))));
  return out;
}

serveParent(
  {
    'refresh-pool': refreshPool,
    'profile-start': () => startProfile(),
    'profile-stop': (file) => stopProfile(String(file)),
    cpu: () => cpuMicros(),
    memory: async () => ({
      ...memoryMb(),
      stored_rows: durable ? await storedPgRows() : storedRows(),
    }),
    stop: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (durable) await closePgAdapter();
    },
  },
  { url: issuer, clients, account: PEER_ACCOUNT, scope: PERSON_SCOPE },
);
