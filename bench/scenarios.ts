import type { Agent } from 'node:http';
import { AssertionPool } from './lib/assertions.js';
import { basicAuth, keepAlive, redirectParams, send } from './lib/http.js';
import type { LoadSpec } from './lib/load.js';
import type { PeerFixtures } from './lib/peer-setup.js';
import { pkcePair } from './lib/pkce.js';
import type { IdTokenAlg, KeyedBenchClient, TesseraFixtures } from './servers/fixtures.js';
import { PERSON_SCOPE, REDIRECT_URI, SERVICE_SCOPE } from './servers/fixtures.js';

/** The scenarios, in the order they run and print. */
export const SCENARIOS = {
  a: { title: 'a. client_credentials, JWT access token', ceiling: 'signing' },
  'b-rs256': {
    title: 'b. refresh_token grant with rotation, RS256 ID token',
    ceiling: 'transport',
  },
  'b-es256': {
    title: 'b. refresh_token grant with rotation, ES256 ID token',
    ceiling: 'transport',
  },
  'c-jwt': { title: 'c. introspect a JWT access token', ceiling: 'transport' },
  'c-opaque': { title: 'c. introspect an opaque access token', ceiling: 'transport' },
  d: { title: 'd. userinfo', ceiling: 'transport' },
  'e-rs256': {
    title: 'e. code round trip (authorize + token), RS256 ID token',
    ceiling: 'transport',
  },
  'e-es256': {
    title: 'e. code round trip (authorize + token), ES256 ID token',
    ceiling: 'transport',
  },
  'g-pkjwt': { title: 'g. client_credentials with private_key_jwt', ceiling: 'signing' },
  'g-bearer': { title: 'g. JWT bearer grant (no peer has it)', ceiling: 'signing' },
  f: { title: 'f. password sign-in (argon2id) beside a', ceiling: 'transport' },
  'h-registered': {
    title: 'h. code round trip with a registered client',
    ceiling: 'transport',
  },
  'h-document': {
    title: 'h. code round trip with a metadata-document client',
    ceiling: 'transport',
  },
} as const;

export type ScenarioId = keyof typeof SCENARIOS;
export const SCENARIO_IDS = Object.keys(SCENARIOS) as ScenarioId[];
/** b's and e's rows, one per ID-token algorithm, and the algorithm of each. */
export const REFRESH_IDS = ['b-rs256', 'b-es256'] as const;
export const ROUND_TRIP_IDS = ['e-rs256', 'e-es256'] as const;
export type RefreshId = (typeof REFRESH_IDS)[number];
export type RoundTripId = (typeof ROUND_TRIP_IDS)[number];
export const idTokenAlgOf = (id: RefreshId | RoundTripId): IdTokenAlg =>
  id.endsWith('es256') ? 'ES256' : 'RS256';
export const isRefresh = (id: string): id is RefreshId =>
  (REFRESH_IDS as readonly string[]).includes(id);
export const isRoundTrip = (id: string): id is RoundTripId =>
  (ROUND_TRIP_IDS as readonly string[]).includes(id);
/** g's rows: each request carries a fresh signed assertion, drawn from a pool signed ahead. */
export const ASSERTION_IDS = ['g-pkjwt', 'g-bearer'] as const;
export type AssertionId = (typeof ASSERTION_IDS)[number];
export const isAssertion = (id: string): id is AssertionId =>
  (ASSERTION_IDS as readonly string[]).includes(id);
/**
 * h's rows (issue 13): e's round trip by a public PKCE client registered in the store, and by one
 * whose client_id is the URL of its Client ID Metadata Document (fetched once, then cached),
 * alternated on the same server; no peer.
 */
export const DOCUMENT_TRIP_IDS = ['h-registered', 'h-document'] as const;
export type DocumentTripId = (typeof DOCUMENT_TRIP_IDS)[number];
export const isDocumentTrip = (id: string): id is DocumentTripId =>
  (DOCUMENT_TRIP_IDS as readonly string[]).includes(id);
/** The letter of the scenario (b for b-rs256, c for c-jwt): what --only also takes. */
export const letterOf = (id: string): string => id.split(/[-@]/)[0]!;
/** The scenarios repeated on the large store. */
export const GROWTH_IDS: ScenarioId[] = ['a', 'c-jwt', 'c-opaque', 'd'];
/**
 * The same for --quick, to stay under two minutes: the ones that read a token from the store
 * (a reads none, and c's JWT row reads it as its opaque one does).
 */
export const QUICK_GROWTH_IDS: ScenarioId[] = ['c-opaque', 'd'];

const FORM = 'application/x-www-form-urlencoded';
const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();

/** Hands out one pre-issued refresh token per request; counts how often the pool ran dry. */
export class TokenPool {
  dry = 0;
  constructor(private readonly tokens: string[]) {}
  get left(): number {
    return this.tokens.length;
  }
  take(): string {
    const token = this.tokens.pop();
    if (token !== undefined) return token;
    this.dry += 1;
    return 'pool-exhausted';
  }
}

function refreshSpec(url: string, auth: string, pool: TokenPool): LoadSpec {
  return {
    url,
    method: 'POST',
    path: '/token',
    headers: { 'content-type': FORM, authorization: auth },
    setupRequest: (request) => ({
      ...request,
      body: form({ grant_type: 'refresh_token', refresh_token: pool.take() }),
    }),
  };
}

/** What one server answers in each scenario: autocannon specs, and the round trip of e. */
export interface Target {
  a: LoadSpec;
  /** b: the refresh grant spending the pool's tokens, of the client with that ID-token alg. */
  b: Record<RefreshId, (pool: TokenPool) => LoadSpec>;
  'c-jwt': LoadSpec | undefined;
  'c-opaque': LoadSpec;
  d: LoadSpec;
  e: Record<RoundTripId, (agent: Agent) => Promise<void>>;
  /** g: a fresh pool of assertions, and the requests that spend it; undefined where not supported. */
  g: Record<AssertionId, AssertionLoad | undefined>;
}

export interface AssertionLoad {
  pool(): AssertionPool;
  spec(pool: AssertionPool): LoadSpec;
}

const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

/** a's request, with the client proved by a private_key_jwt assertion instead of Basic. */
function privateKeyJwtLoad(url: string, client: KeyedBenchClient): AssertionLoad {
  return {
    pool: () =>
      new AssertionPool(
        client,
        { iss: client.id, sub: client.id, aud: `${url}/token` },
        (assertion) =>
          form({
            grant_type: 'client_credentials',
            scope: SERVICE_SCOPE,
            client_assertion_type: CLIENT_ASSERTION_TYPE,
            client_assertion: assertion,
          }),
      ),
    spec: (pool) => assertionSpec(url, pool),
  };
}

/** The JWT bearer grant of a service account acting for itself, with no other credential. */
function jwtBearerLoad(url: string, client: KeyedBenchClient): AssertionLoad {
  return {
    pool: () =>
      new AssertionPool(
        client,
        { iss: client.id, sub: client.id, aud: `${url}/token` },
        (assertion) => form({ grant_type: JWT_BEARER, scope: SERVICE_SCOPE, assertion }),
      ),
    spec: (pool) => assertionSpec(url, pool),
  };
}

function assertionSpec(url: string, pool: AssertionPool): LoadSpec {
  return {
    url,
    method: 'POST',
    path: '/token',
    headers: { 'content-type': FORM },
    setupRequest: (request) => ({ ...request, body: pool.take() }),
  };
}

/**
 * The code round trip of a signed-in person with remembered consent: GET the
 * authorization endpoint with the session cookie, take the code from the
 * redirect, redeem it with PKCE at the token endpoint.
 */
function codeRoundTrip(options: {
  url: string;
  authorizePath: string;
  clientId: string;
  /** The client's Authorization header; a public client (none) sends its client_id instead. */
  auth: string | undefined;
  cookie: string;
}) {
  const { verifier, challenge } = pkcePair();
  const authorize = new URL(
    `${options.authorizePath}?${form({
      response_type: 'code',
      client_id: options.clientId,
      redirect_uri: REDIRECT_URI,
      scope: PERSON_SCOPE,
      state: 'bench',
      code_challenge: challenge,
      code_challenge_method: 'S256',
    })}`,
    options.url,
  );
  const token = new URL('/token', options.url);
  return async (agent: Agent) => {
    const redirect = await send(agent, authorize, { headers: { cookie: options.cookie } });
    const code = redirectParams(redirect, options.url).get('code');
    if (!code) throw new Error(`no code in ${redirect.headers.location}`);
    const tokens = await send(agent, token, {
      headers: options.auth ? { authorization: options.auth } : {},
      form: {
        grant_type: 'authorization_code',
        code,
        redirect_uri: REDIRECT_URI,
        code_verifier: verifier,
        ...(options.auth ? {} : { client_id: options.clientId }),
      },
    });
    if (tokens.status !== 200) throw new Error(`token ${tokens.status}: ${tokens.body}`);
  };
}

const clientAuth = (client: { id: string; secret: string }) => basicAuth(client.id, client.secret);

export function tesseraTarget(url: string, fx: TesseraFixtures): Target {
  const service = basicAuth(fx.service.id, fx.service.secret);
  const roundTrip = (client: { id: string; secret: string }) =>
    codeRoundTrip({
      url,
      authorizePath: '/authorize',
      clientId: client.id,
      auth: clientAuth(client),
      cookie: `tessera_session=${fx.session.cookie}`,
    });
  const introspect = (token: string): LoadSpec => ({
    url,
    method: 'POST',
    path: '/introspect',
    headers: { 'content-type': FORM, authorization: service },
    body: form({ token }),
  });
  return {
    a: {
      url,
      method: 'POST',
      path: '/token',
      headers: { 'content-type': FORM, authorization: service },
      body: form({ grant_type: 'client_credentials', scope: SERVICE_SCOPE }),
    },
    b: {
      'b-rs256': (pool) => refreshSpec(url, clientAuth(fx.idToken.RS256.web), pool),
      'b-es256': (pool) => refreshSpec(url, clientAuth(fx.idToken.ES256.web), pool),
    },
    'c-jwt': introspect(fx.jwtAccessToken),
    'c-opaque': introspect(fx.opaqueAccessToken),
    d: {
      url,
      path: '/userinfo',
      headers: { authorization: `Bearer ${fx.jwtAccessToken}` },
    },
    e: {
      'e-rs256': roundTrip(fx.idToken.RS256.roundTrip),
      'e-es256': roundTrip(fx.idToken.ES256.roundTrip),
    },
    g: {
      'g-pkjwt': privateKeyJwtLoad(url, fx.keyed),
      'g-bearer': jwtBearerLoad(url, fx.bearer),
    },
  };
}

/**
 * h's two round trips against Tessera: the registered public client, and the client whose id is
 * `documentClientId`, the URL of its metadata document. Both public, PKCE, RS256 ID tokens, the
 * person's consent remembered.
 */
export function documentTrips(
  url: string,
  fx: TesseraFixtures,
  documentClientId: string,
): Record<DocumentTripId, (agent: Agent) => Promise<void>> {
  const trip = (clientId: string) =>
    codeRoundTrip({
      url,
      authorizePath: '/authorize',
      clientId,
      auth: undefined,
      cookie: `tessera_session=${fx.session.cookie}`,
    });
  return { 'h-registered': trip(fx.publicRoundTrip.id), 'h-document': trip(documentClientId) };
}

/** oidc-provider's routes: /token, /token/introspection, /me, /auth. */
export function peerTarget(url: string, fx: PeerFixtures): Target {
  const service = basicAuth(fx.clients.service.id, fx.clients.service.secret);
  const web = (alg: IdTokenAlg) => clientAuth(fx.clients.web[alg]);
  const roundTrip = (alg: IdTokenAlg) =>
    codeRoundTrip({
      url,
      authorizePath: '/auth',
      clientId: fx.clients.web[alg].id,
      auth: web(alg),
      cookie: fx.idToken[alg].sessionCookie,
    });
  const { accessToken } = fx.idToken.RS256;
  return {
    a: {
      url,
      method: 'POST',
      path: '/token',
      headers: { 'content-type': FORM, authorization: service },
      body: form({ grant_type: 'client_credentials', scope: SERVICE_SCOPE }),
    },
    b: {
      'b-rs256': (pool) => refreshSpec(url, web('RS256'), pool),
      'b-es256': (pool) => refreshSpec(url, web('ES256'), pool),
    },
    // It refuses to introspect JWT access tokens: both c rows compare with its opaque one.
    'c-jwt': undefined,
    'c-opaque': {
      url,
      method: 'POST',
      path: '/token/introspection',
      headers: { 'content-type': FORM, authorization: service },
      body: form({ token: accessToken }),
    },
    d: { url, path: '/me', headers: { authorization: `Bearer ${accessToken}` } },
    e: { 'e-rs256': roundTrip('RS256'), 'e-es256': roundTrip('ES256') },
    // oidc-provider has no JWT bearer grant built in.
    g: { 'g-pkjwt': privateKeyJwtLoad(url, fx.clients.keyed), 'g-bearer': undefined },
  };
}

/**
 * Scenario f against Tessera: the sign-in form posted with the person's
 * password and a valid CSRF pair (read once from GET /login, as a browser
 * would). Success is the 303 to /account.
 */
export async function signInSpec(url: string, fx: TesseraFixtures): Promise<LoadSpec> {
  const agent = keepAlive();
  const page = await send(agent, new URL('/login', url));
  agent.destroy();
  const seed = (page.headers['set-cookie'] ?? [])
    .map((c) => /^tessera_csrf=([^;]+)/.exec(c)?.[1])
    .find(Boolean);
  const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1];
  if (!seed || !csrf) throw new Error('the sign-in page gave no CSRF cookie and token');
  return {
    url,
    method: 'POST',
    path: '/login',
    headers: { 'content-type': FORM, cookie: `tessera_csrf=${seed}` },
    body: form({ username: fx.user.username, password: fx.user.password, _csrf: csrf }),
    expect: 3,
  };
}
