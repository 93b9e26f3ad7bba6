import { randomId, randomToken } from '../../src/lib/random.js';
import type {
  AuthorizationCode,
  DeviceCode,
  NewApi,
  NewClient,
  NewUser,
  Session,
  SigningKey,
  Store,
  TokenRecord,
} from '../../src/store/types.js';

/*
 * Complete records for the store contract suite. Every field is set to a
 * value that could be lost in a round trip (true flags, JSON, nulls), and
 * every builder takes overrides so a test names only what it is about.
 */

/** A fixed "now" in epoch seconds; the suite never reads the wall clock. */
export const NOW = 1_750_000_000;

/** A short random suffix, so tests sharing one store never collide. */
export const unique = (): string =>
  randomId(6)
    .replace(/[^a-zA-Z0-9]/g, 'x')
    .toLowerCase();

export function newUser(overrides: Partial<NewUser> = {}): NewUser {
  const name = `user${unique()}`;
  return {
    id: randomId(),
    username: name,
    email: `${name}@example.com`,
    emailVerified: true,
    passwordHash: '$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA',
    givenName: 'Ada',
    familyName: 'Lovelace',
    middleName: null,
    nickname: 'ada',
    picture: null,
    website: 'https://ada.example',
    gender: null,
    birthdate: '1815-12-10',
    zoneinfo: 'Europe/London',
    locale: 'en-GB',
    phoneNumber: '+44 20 7946 0000',
    phoneNumberVerified: true,
    address: { street_address: '12 St James’s Square', locality: 'London', country: 'GB' },
    role: 'admin',
    twoFactor: true,
    createdAt: NOW,
    ...overrides,
  };
}

export function newClient(overrides: Partial<NewClient> = {}): NewClient {
  return {
    id: randomId(),
    name: `App ${unique()}`,
    contactEmail: 'dev@example.com',
    secretHash: randomToken(),
    secretSealed: null,
    type: 'confidential',
    redirectUris: ['https://app.example/callback', 'http://127.0.0.1:8080/cb'],
    postLogoutRedirectUris: ['https://app.example/bye'],
    grantTypes: ['authorization_code', 'refresh_token'],
    responseTypes: ['code'],
    scopes: ['openid', 'profile', 'email', 'api:read'],
    tokenEndpointAuthMethod: 'client_secret_post',
    accessTokenFormat: 'opaque',
    idTokenSignedResponseAlg: 'ES256',
    userinfoSignedResponseAlg: 'RS256',
    backchannelLogoutUri: 'https://app.example/backchannel',
    defaultMaxAge: 3600,
    requireAuthTime: true,
    firstParty: true,
    requirePkce: true,
    resourceServer: true,
    jwks: null,
    jwksUri: null,
    tokenEndpointAuthSigningAlg: null,
    jwtBearerSubjects: [],
    tokenExchangeAudiences: ['https://api.example'],
    tokenExchangeSubjectTokenTypes: ['urn:ietf:params:oauth:token-type:access_token'],
    tokenExchangeTrustedIssuers: [],
    dpopBoundAccessTokens: true,
    requirePushedAuthorizationRequests: true,
    registration: 'dynamic',
    allowedResources: ['https://orders.example/api', 'http://localhost:9000/mcp'],
    createdAt: NOW,
    ...overrides,
  };
}

export function newCode(
  owner: { grantId: string; clientId: string; userId: string },
  overrides: Partial<AuthorizationCode> = {},
): AuthorizationCode {
  return {
    id: randomToken(),
    familyId: randomId(),
    ...owner,
    redirectUri: 'https://app.example/callback',
    scope: 'openid profile',
    codeChallenge: randomToken(),
    codeChallengeMethod: 'S256',
    nonce: 'n-0S6_WzA2Mj',
    sessionId: randomId(),
    authTime: NOW - 30,
    acr: 'urn:tessera:pwd',
    amr: ['pwd', 'otp'],
    claims: '{"userinfo":{"email":{"essential":true}}}',
    sessionExpiresAt: NOW + 3600,
    dpopJkt: 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs',
    resources: ['https://orders.example/api', 'https://mail.example/'],
    createdAt: NOW,
    expiresAt: NOW + 60,
    consumedAt: null,
    ...overrides,
  };
}

/** A pending device authorization of `clientId`; its ids are random hashes-to-be. */
export function newDeviceCode(clientId: string, overrides: Partial<DeviceCode> = {}): DeviceCode {
  return {
    id: randomToken(),
    userCodeHash: randomToken(),
    clientId,
    scope: 'openid profile',
    status: 'pending',
    userId: null,
    grantId: null,
    authTime: null,
    acr: null,
    amr: null,
    interval: 5,
    lastPolledAt: null,
    resources: ['https://orders.example/api'],
    createdAt: NOW,
    expiresAt: NOW + 600,
    consumedAt: null,
    ...overrides,
  };
}

export function newToken(
  owner: { clientId: string; userId: string | null; grantId: string | null },
  overrides: Partial<TokenRecord> = {},
): TokenRecord {
  return {
    id: randomToken(),
    kind: 'refresh',
    format: 'opaque',
    ...owner,
    familyId: randomId(),
    sessionId: randomId(),
    scope: 'openid offline_access',
    audience: 'https://api.example',
    jkt: '0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I',
    authTime: NOW - 30,
    acr: 'urn:tessera:pwd',
    amr: ['pwd'],
    claims: '{"id_token":{"acr":null}}',
    act: null,
    createdAt: NOW,
    expiresAt: NOW + 3600,
    familyExpiresAt: NOW + 30 * 86400,
    rotatedAt: null,
    revokedAt: null,
    ...overrides,
  };
}

export function newSession(userId: string, overrides: Partial<Session> = {}): Session {
  return {
    id: randomId(),
    secretHash: randomToken(),
    userId,
    authTime: NOW - 10,
    amr: ['pwd'],
    acr: null,
    userAgent: 'Mozilla/5.0 (X11; Linux x86_64)',
    ip: '192.0.2.7',
    createdAt: NOW - 10,
    lastSeenAt: NOW - 10,
    expiresAt: NOW + 3600,
    endedAt: null,
    ...overrides,
  };
}

export function newKey(overrides: Partial<SigningKey> = {}): SigningKey {
  const kid = randomId(8);
  return {
    kid,
    alg: 'ES256',
    publicJwk: JSON.stringify({ kty: 'EC', crv: 'P-256', kid, x: 'x', y: 'y' }),
    privateJwk: `sealed:${randomToken()}`,
    createdAt: NOW,
    activatesAt: NOW + 60,
    retiredAt: null,
    expiresAt: null,
    ...overrides,
  };
}

/** A user, a client and the grant between them: what codes and tokens hang from. */
export async function seedGrant(
  store: Store,
  scopes: string[] = ['openid', 'profile'],
): Promise<{ userId: string; clientId: string; grantId: string }> {
  const user = await store.users.create(newUser());
  const client = await store.clients.create(newClient());
  const grant = await store.grants.upsert(user.id, client.id, scopes, NOW);
  return { userId: user.id, clientId: client.id, grantId: grant.id };
}

/** An API whose introspection client is `clientId`; every field set to survive a round trip. */
export function newApi(clientId: string, overrides: Partial<NewApi> = {}): NewApi {
  return {
    id: randomId(),
    identifier: `https://api-${unique()}.example/v1`,
    name: `API ${unique()}`,
    scopes: ['orders:read', 'orders:write'],
    accessTokenFormat: 'opaque',
    accessTokenTtl: 600,
    openToSelfRegistered: true,
    clientId,
    createdAt: NOW,
    ...overrides,
  };
}
