import type { Agent } from 'node:http';
import { basicAuth, keepAlive, redirectParams, send } from './lib/http.js';
import type { LoadSpec } from './lib/load.js';
import type { PeerFixtures } from './lib/peer-setup.js';
import { pkcePair } from './lib/pkce.js';
import type { TesseraFixtures } from './servers/fixtures.js';
import { PERSON_SCOPE, REDIRECT_URI, SERVICE_SCOPE } from './servers/fixtures.js';

/** The scenarios, in the order they run and print. */
export const SCENARIOS = {
  a: { title: 'a. client_credentials, JWT access token', ceiling: 'signing' },
  b: { title: 'b. refresh_token grant with rotation', ceiling: 'transport' },
  'c-jwt': { title: 'c. introspect a JWT access token', ceiling: 'transport' },
  'c-opaque': { title: 'c. introspect an opaque access token', ceiling: 'transport' },
  d: { title: 'd. userinfo', ceiling: 'transport' },
  e: { title: 'e. code round trip (authorize + token)', ceiling: 'transport' },
  f: { title: 'f. password sign-in (argon2id) beside a', ceiling: 'transport' },
} as const;

export type ScenarioId = keyof typeof SCENARIOS;
export const SCENARIO_IDS = Object.keys(SCENARIOS) as ScenarioId[];
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
  b(pool: TokenPool): LoadSpec;
  'c-jwt': LoadSpec | undefined;
  'c-opaque': LoadSpec;
  d: LoadSpec;
  e(agent: Agent): Promise<void>;
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
  auth: string;
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
      headers: { authorization: options.auth },
      form: {
        grant_type: 'authorization_code',
        code,
        redirect_uri: REDIRECT_URI,
        code_verifier: verifier,
      },
    });
    if (tokens.status !== 200) throw new Error(`token ${tokens.status}: ${tokens.body}`);
  };
}

export function tesseraTarget(url: string, fx: TesseraFixtures): Target {
  const service = basicAuth(fx.service.id, fx.service.secret);
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
    b: (pool) => refreshSpec(url, basicAuth(fx.web.id, fx.web.secret), pool),
    'c-jwt': introspect(fx.jwtAccessToken),
    'c-opaque': introspect(fx.opaqueAccessToken),
    d: {
      url,
      path: '/userinfo',
      headers: { authorization: `Bearer ${fx.jwtAccessToken}` },
    },
    e: codeRoundTrip({
      url,
      authorizePath: '/authorize',
      clientId: fx.roundTrip.id,
      auth: basicAuth(fx.roundTrip.id, fx.roundTrip.secret),
      cookie: `tessera_session=${fx.session.cookie}`,
    }),
  };
}

/** oidc-provider's routes: /token, /token/introspection, /me, /auth. */
export function peerTarget(url: string, fx: PeerFixtures): Target {
  const service = basicAuth(fx.clients.service.id, fx.clients.service.secret);
  const web = basicAuth(fx.clients.web.id, fx.clients.web.secret);
  return {
    a: {
      url,
      method: 'POST',
      path: '/token',
      headers: { 'content-type': FORM, authorization: service },
      body: form({ grant_type: 'client_credentials', scope: SERVICE_SCOPE }),
    },
    b: (pool) => refreshSpec(url, web, pool),
    // It refuses to introspect JWT access tokens: both c rows compare with its opaque one.
    'c-jwt': undefined,
    'c-opaque': {
      url,
      method: 'POST',
      path: '/token/introspection',
      headers: { 'content-type': FORM, authorization: service },
      body: form({ token: fx.accessToken }),
    },
    d: { url, path: '/me', headers: { authorization: `Bearer ${fx.accessToken}` } },
    e: codeRoundTrip({
      url,
      authorizePath: '/auth',
      clientId: fx.clients.web.id,
      auth: web,
      cookie: fx.sessionCookie,
    }),
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
