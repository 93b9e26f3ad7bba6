import { generateKeyPairSync, type JsonWebKey } from 'node:crypto';
import type { AppContext } from '../../src/context.js';
import { CLIENT_DEFAULTS, JWT_BEARER } from '../../src/domain/client-rules.js';
import { startSession } from '../../src/domain/sessions.js';
import { registerUser } from '../../src/domain/users.js';
import { sha256 } from '../../src/lib/hash.js';
import { randomId, randomToken } from '../../src/lib/random.js';
import { issueAccessToken } from '../../src/oauth/issue.js';
import type { Client, NewClient } from '../../src/store/types.js';

export const REDIRECT_URI = 'https://app.example.com/callback';
/** The scopes of every person's token in the benchmark. */
export const PERSON_SCOPE = 'openid profile email';
/** The scope of the pre-issued refresh tokens (scenario b). */
export const REFRESH_SCOPE = 'openid profile email offline_access';
export const SERVICE_SCOPE = 'api:read';
export const PASSWORD = 'correct horse battery staple';

/** The ID-token algorithms b and e are measured with, on both servers. */
export const ID_TOKEN_ALGS = ['RS256', 'ES256'] as const;
export type IdTokenAlg = (typeof ID_TOKEN_ALGS)[number];

/** The person clients of b and e for one ID-token algorithm. */
export interface IdTokenClients {
  /** Code + refresh grants: the refresh pool of b is issued to it. */
  web: BenchClient;
  /** The grant (remembered consent) of the user to `web`; refresh tokens point to it. */
  webGrantId: string;
  /** Code grant only (no refresh token): e's round trip. */
  roundTrip: BenchClient;
}

export interface BenchClient {
  id: string;
  secret: string;
}

/** A client that signs its own assertions (ES256): its id and its private key, for the generator. */
export interface KeyedBenchClient {
  id: string;
  kid: string;
  privateJwk: JsonWebKey;
}

/** An ES256 key pair: the private JWK for the load generator, the public one to register. */
export function benchKeyPair(kid: string): { privateJwk: JsonWebKey; publicJwk: JsonWebKey } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    privateJwk: privateKey.export({ format: 'jwk' }),
    publicJwk: { ...publicKey.export({ format: 'jwk' }), kid, alg: 'ES256', use: 'sig' },
  };
}

/** Everything a scenario needs against Tessera, made once per store. */
export interface TesseraFixtures {
  /** client_credentials client, and the resource server that introspects (a confidential client). */
  service: BenchClient;
  /** JWT access tokens, code + refresh grants: userinfo, JWT introspection, refresh pool. */
  web: BenchClient;
  /** Opaque access tokens: opaque introspection. */
  opaque: BenchClient;
  /** Code grant only (no refresh token), like the peer's round trip without offline_access. */
  roundTrip: BenchClient;
  /** h: a public client (PKCE, no secret) registered in the store, code grant only. */
  publicRoundTrip: BenchClient;
  redirectUri: string;
  user: { id: string; username: string; password: string };
  /** The grant (remembered consent) of the user to `web`; refresh tokens point to it. */
  webGrantId: string;
  session: { id: string; cookie: string; authTime: number };
  /** b's and e's clients per ID-token algorithm; RS256's are `web` and `roundTrip` above. */
  idToken: Record<IdTokenAlg, IdTokenClients>;
  jwtAccessToken: string;
  opaqueAccessToken: string;
  /** g: client_credentials with private_key_jwt (ES256 assertions). */
  keyed: KeyedBenchClient;
  /** g: a service account with the JWT bearer grant and no other credential. */
  bearer: KeyedBenchClient;
}

async function makeClient(
  ctx: AppContext,
  name: string,
  overrides: Partial<NewClient>,
): Promise<{ client: Client; secret: string }> {
  const secret = randomToken(32);
  const now = Math.floor(ctx.clock.now() / 1000);
  const client = await ctx.store.clients.create({
    ...CLIENT_DEFAULTS,
    id: `bench-${name}-${randomId(6)}`,
    name: `Benchmark ${name}`,
    secretHash: sha256(secret),
    secretSealed: null,
    redirectUris: [REDIRECT_URI],
    scopes: ['openid', 'profile', 'email', 'offline_access'],
    createdAt: now,
    ...overrides,
  });
  return { client, secret };
}

/**
 * Creates the clients, the person (through registerUser: a real argon2id hash),
 * a signed-in session, the remembered consents and one access token of each format,
 * all through the domain code the server itself uses.
 */
export async function createFixtures(ctx: AppContext): Promise<TesseraFixtures> {
  const now = Math.floor(ctx.clock.now() / 1000);
  const service = await makeClient(ctx, 'service', {
    grantTypes: ['client_credentials'],
    redirectUris: [],
    responseTypes: [],
    scopes: [SERVICE_SCOPE],
    // It introspects the person clients' tokens in scenario c, as an API's client does.
    resourceServer: true,
  });
  // RS256 ID tokens (the default) for `web` and `roundTrip`; b and e are measured with ES256
  // ones too, through a second pair, as the peer's clients are.
  const web = await makeClient(ctx, 'web', { idTokenSignedResponseAlg: 'RS256' });
  const opaque = await makeClient(ctx, 'opaque', { accessTokenFormat: 'opaque' });
  const roundTripClient = (alg: IdTokenAlg) =>
    makeClient(ctx, `roundtrip-${alg.toLowerCase()}`, {
      idTokenSignedResponseAlg: alg,
      grantTypes: ['authorization_code'],
      scopes: ['openid', 'profile', 'email'],
    });
  const roundTrip = await roundTripClient('RS256');
  // h: what a metadata-document client is, but registered: public, PKCE, code grant, RS256.
  const publicRoundTrip = await makeClient(ctx, 'public-roundtrip', {
    type: 'public',
    tokenEndpointAuthMethod: 'none',
    secretHash: null,
    requirePkce: true,
    grantTypes: ['authorization_code'],
    scopes: ['openid', 'profile', 'email'],
  });
  const webEs256 = await makeClient(ctx, 'web-es256', { idTokenSignedResponseAlg: 'ES256' });
  const roundTripEs256 = await roundTripClient('ES256');

  const username = `bench_${randomId(4).replace(/[^A-Za-z0-9]/g, 'x')}`;
  const user = await registerUser(ctx, {
    username,
    email: `${username}@example.com`,
    password: PASSWORD,
    givenName: 'Ada',
    familyName: 'Lovelace',
    emailVerified: true,
  });
  const { session, secret } = await startSession(ctx, { userId: user.id, amr: ['pwd'] });
  const scopes = PERSON_SCOPE.split(' ');
  const webGrant = await ctx.store.grants.upsert(
    user.id,
    web.client.id,
    REFRESH_SCOPE.split(' '),
    now,
  );
  const opaqueGrant = await ctx.store.grants.upsert(user.id, opaque.client.id, scopes, now);
  await ctx.store.grants.upsert(user.id, roundTrip.client.id, scopes, now);
  await ctx.store.grants.upsert(user.id, publicRoundTrip.client.id, scopes, now);
  const webEs256Grant = await ctx.store.grants.upsert(
    user.id,
    webEs256.client.id,
    REFRESH_SCOPE.split(' '),
    now,
  );
  await ctx.store.grants.upsert(user.id, roundTripEs256.client.id, scopes, now);

  const personToken = (client: Client, grantId: string) =>
    issueAccessToken(ctx, {
      client,
      user,
      scopes,
      grantId,
      familyId: randomId(),
      sessionId: session.id,
      authTime: session.authTime,
      amr: session.amr,
    });
  const jwt = await personToken(web.client, webGrant.id);
  const opaqueToken = await personToken(opaque.client, opaqueGrant.id);

  // g: the same client_credentials as a's, proved by a signed assertion instead of a secret; and
  // a service account that gets its token with the JWT bearer grant.
  const keyedClient = async (name: string, grantType: string): Promise<KeyedBenchClient> => {
    const kid = `${name}-key`;
    const pair = benchKeyPair(kid);
    const made = await makeClient(ctx, name, {
      grantTypes: [grantType],
      redirectUris: [],
      responseTypes: [],
      scopes: [SERVICE_SCOPE],
      tokenEndpointAuthMethod: 'private_key_jwt',
      secretHash: null,
      jwks: { keys: [pair.publicJwk as Record<string, unknown>] },
    });
    return { id: made.client.id, kid, privateJwk: pair.privateJwk };
  };
  const keyed = await keyedClient('keyed', 'client_credentials');
  const bearer = await keyedClient('bearer', JWT_BEARER);

  const pick = (c: { client: Client; secret: string }) => ({ id: c.client.id, secret: c.secret });
  return {
    service: pick(service),
    web: pick(web),
    opaque: pick(opaque),
    roundTrip: pick(roundTrip),
    publicRoundTrip: pick(publicRoundTrip),
    redirectUri: REDIRECT_URI,
    user: { id: user.id, username, password: PASSWORD },
    webGrantId: webGrant.id,
    session: { id: session.id, cookie: secret, authTime: session.authTime },
    idToken: {
      RS256: { web: pick(web), webGrantId: webGrant.id, roundTrip: pick(roundTrip) },
      ES256: {
        web: pick(webEs256),
        webGrantId: webEs256Grant.id,
        roundTrip: pick(roundTripEs256),
      },
    },
    jwtAccessToken: jwt.token,
    opaqueAccessToken: opaqueToken.token,
    keyed,
    bearer,
  };
}

/**
 * h: the client of the metadata document at `url`, fetched once by the server (through the same
 * resolver /authorize uses), and the person's remembered consent to it.
 */
export async function documentClient(ctx: AppContext, url: string, userId: string): Promise<void> {
  const client = await ctx.clients.resolve(url);
  if (!client) throw new Error(`no client from ${url}: is TESSERA_CIMD on?`);
  const now = Math.floor(ctx.clock.now() / 1000);
  await ctx.store.grants.upsert(userId, client.id, PERSON_SCOPE.split(' '), now);
}
