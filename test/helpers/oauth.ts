import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { expect } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { CLIENT_DEFAULTS } from '../../src/domain/client-rules.js';
import { startSession } from '../../src/domain/sessions.js';
import { registerUser } from '../../src/domain/users.js';
import { sha256 } from '../../src/lib/hash.js';
import { randomId, randomToken } from '../../src/lib/random.js';
import { seal } from '../../src/lib/seal.js';
import { s256 } from '../../src/oauth/pkce.js';
import type { Client, User } from '../../src/store/types.js';
import { Browser, type Page } from './browser.js';

export const REDIRECT_URI = 'https://app.example.com/callback';

export interface TestClient {
  client: Client;
  /** The plain secret; undefined for public clients. */
  secret: string | undefined;
}

/**
 * Registers a client straight in the store (the admin API has its own tests):
 * confidential by default, with the code and refresh grants.
 */
export async function makeClient(
  ctx: AppContext,
  overrides: Partial<Client> = {},
): Promise<TestClient> {
  const isPublic = overrides.type === 'public' || overrides.tokenEndpointAuthMethod === 'none';
  const secret = isPublic ? undefined : randomToken(32);
  const now = Math.floor(ctx.clock.now() / 1000);
  const client = await ctx.store.clients.create({
    ...CLIENT_DEFAULTS,
    id: randomId(),
    name: 'Test App',
    secretHash: secret ? sha256(secret) : null,
    // As domain/clients.ts keeps it: the secret itself, sealed, only for client_secret_jwt.
    secretSealed:
      secret && overrides.tokenEndpointAuthMethod === 'client_secret_jwt'
        ? seal(ctx.config.secret, 'client-secret-jwt', secret)
        : null,
    type: isPublic ? 'public' : 'confidential',
    redirectUris: [REDIRECT_URI],
    tokenEndpointAuthMethod: isPublic ? 'none' : 'client_secret_basic',
    createdAt: now,
    ...overrides,
  });
  return { client, secret };
}

let userCount = 0;

export async function makeUser(
  ctx: AppContext,
  overrides: { username?: string; password?: string } = {},
) {
  userCount += 1;
  const username = overrides.username ?? `user${userCount}_${randomBytes(3).toString('hex')}`;
  const password = overrides.password ?? 'correct horse battery staple';
  const user = await registerUser(ctx, {
    username,
    email: `${username}@example.com`,
    password,
    givenName: 'Alice',
    familyName: 'Liddell',
    phoneNumber: '+44 20 7946 0000',
  });
  return { user, password };
}

/** Signs `user` in for `browser` by starting a session directly (the sign-in page has its own tests). */
export async function signInBrowser(
  ctx: AppContext,
  browser: Browser,
  user: User,
): Promise<string> {
  const { session, secret } = await startSession(ctx, { userId: user.id, amr: ['pwd'] });
  browser.cookies.set('tessera_session', secret);
  return session.id;
}

export function pkce(): { verifier: string; challenge: string } {
  const verifier = randomToken(32);
  return { verifier, challenge: s256(verifier) };
}

export function authorizePath(params: Record<string, string | undefined>): string {
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) query.set(k, v);
  return `/authorize?${query.toString()}`;
}

/** The parameters of a redirect to the client (query or fragment). */
export function redirectParams(page: Page): URLSearchParams {
  if (!page.location)
    throw new Error(`expected a redirect, got ${page.status}: ${page.text.slice(0, 300)}`);
  const url = new URL(page.location);
  return url.hash ? new URLSearchParams(url.hash.slice(1)) : url.searchParams;
}

/**
 * Runs /authorize for a signed-in browser, pressing Allow on the consent page
 * when it appears, and returns the redirect to the client.
 */
export async function authorizeAndConsent(browser: Browser, path: string): Promise<Page> {
  let page = await browser.get(path);
  if (page.status === 200 && page.text.includes('Allow'))
    page = await browser.submit(page, {}, 'Allow');
  return page;
}

/** Runs the whole front channel and returns the code. */
export async function obtainCode(
  browser: Browser,
  client: Client,
  extra: Record<string, string | undefined> = {},
): Promise<string> {
  const page = await authorizeAndConsent(
    browser,
    authorizePath({
      response_type: 'code',
      client_id: client.id,
      redirect_uri: client.redirectUris[0],
      scope: 'openid profile email',
      state: 'st',
      ...extra,
    }),
  );
  const code = redirectParams(page).get('code');
  if (!code) throw new Error(`no code in ${page.location}`);
  return code;
}

export function basicAuth(clientId: string, secret: string): string {
  const enc = (s: string) => encodeURIComponent(s);
  return `Basic ${Buffer.from(`${enc(clientId)}:${enc(secret)}`).toString('base64')}`;
}

/** POSTs a form to a path of the server, returning status, headers and parsed JSON. */
export async function postForm(
  baseUrl: string,
  path: string,
  form: Record<string, string | undefined>,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; body: Record<string, unknown>; text: string }> {
  const body = new URLSearchParams();
  for (const [k, v] of Object.entries(form)) if (v !== undefined) body.set(k, v);
  const res = await fetch(new URL(path, baseUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: body.toString(),
  });
  const text = await res.text();
  let parsed: Record<string, unknown> = {};
  try {
    parsed = text ? JSON.parse(text) : {};
  } catch {
    parsed = {};
  }
  return { status: res.status, headers: res.headers, body: parsed, text };
}

export type { FastifyInstance };

/** The answer of a request made by the helpers below. */
export interface HttpAnswer {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
  text: string;
}

async function answer(res: Response): Promise<HttpAnswer> {
  const text = await res.text();
  let body: Record<string, unknown> = {};
  try {
    body = text ? JSON.parse(text) : {};
  } catch {
    body = {};
  }
  return { status: res.status, headers: res.headers, body, text };
}

/** POSTs a body exactly as given, with the given content type (none when undefined). */
export async function postRaw(
  baseUrl: string,
  path: string,
  body: string,
  contentType: string | undefined,
  headers: Record<string, string> = {},
): Promise<HttpAnswer> {
  const blob = new Blob([body], contentType ? { type: contentType } : {});
  return answer(
    await fetch(new URL(path, baseUrl), {
      method: 'POST',
      headers: { ...(contentType ? { 'content-type': contentType } : {}), ...headers },
      body: blob,
    }),
  );
}

/** POSTs a JSON body (seed 001 talks to /token and /revoke in JSON). */
export function postJson(
  baseUrl: string,
  path: string,
  json: unknown,
  headers: Record<string, string> = {},
): Promise<HttpAnswer> {
  return postRaw(baseUrl, path, JSON.stringify(json), 'application/json', headers);
}

/**
 * How a test client authenticates at /token, /revoke and /introspect: with the method it
 * registered (Tessera accepts no other), Basic, the body, or its client_id alone.
 */
export function clientAuth(tc: TestClient): {
  headers: Record<string, string>;
  form: Record<string, string>;
} {
  if (tc.secret === undefined) return { headers: {}, form: { client_id: tc.client.id } };
  if (tc.client.tokenEndpointAuthMethod === 'client_secret_post') {
    return { headers: {}, form: { client_id: tc.client.id, client_secret: tc.secret } };
  }
  return { headers: { authorization: basicAuth(tc.client.id, tc.secret) }, form: {} };
}

/** POSTs to a client-authenticated endpoint (/token, /revoke, /introspect) as `tc`. */
export function postAsClient(
  baseUrl: string,
  path: string,
  tc: TestClient,
  form: Record<string, string | undefined>,
): Promise<HttpAnswer> {
  const auth = clientAuth(tc);
  return postForm(baseUrl, path, { ...auth.form, ...form }, auth.headers);
}

/** The token response of a successful exchange. */
export interface TokenSet {
  access_token: string;
  token_type: string;
  expires_in: number;
  scope: string;
  refresh_token?: string;
  id_token?: string;
}

/**
 * Runs the whole code flow (PKCE, consent) for `user` and exchanges the code as
 * `tc`; fails the test unless the exchange answers 200.
 */
export async function obtainTokens(
  baseUrl: string,
  ctx: AppContext,
  tc: TestClient,
  user: User,
  extra: Record<string, string | undefined> = {},
): Promise<TokenSet> {
  const browser = new Browser(baseUrl);
  await signInBrowser(ctx, browser, user);
  const { verifier, challenge } = pkce();
  const code = await obtainCode(browser, tc.client, {
    code_challenge: challenge,
    code_challenge_method: 'S256',
    ...extra,
  });
  const res = await postAsClient(baseUrl, '/token', tc, {
    grant_type: 'authorization_code',
    code,
    redirect_uri: tc.client.redirectUris[0],
    code_verifier: verifier,
  });
  if (res.status !== 200) throw new Error(`code exchange failed: ${res.status} ${res.text}`);
  return res.body as unknown as TokenSet;
}

/** Refreshes as `tc` (grant_type=refresh_token). */
export function refresh(
  baseUrl: string,
  tc: TestClient,
  refreshToken: string,
  extra: Record<string, string | undefined> = {},
): Promise<HttpAnswer> {
  return postAsClient(baseUrl, '/token', tc, {
    grant_type: 'refresh_token',
    refresh_token: refreshToken,
    ...extra,
  });
}

/** Introspects `token` as `tc` (RFC 7662). */
export function introspect(
  baseUrl: string,
  tc: TestClient,
  token: string,
  extra: Record<string, string | undefined> = {},
): Promise<HttpAnswer> {
  return postAsClient(baseUrl, '/introspect', tc, { token, ...extra });
}

/** GET /userinfo with the token in the Authorization header. */
export async function userinfo(baseUrl: string, accessToken: string): Promise<HttpAnswer> {
  return answer(
    await fetch(new URL('/userinfo', baseUrl), {
      headers: { authorization: `Bearer ${accessToken}` },
    }),
  );
}

/**
 * Asserts an OAuth error answer: the status, the `error` code, a description,
 * and no caching.
 */
export function expectOAuthError(res: HttpAnswer, status: number, error: string): void {
  expect(res.status, res.text).toBe(status);
  expect(res.body.error, res.text).toBe(error);
  expect(typeof res.body.error_description).toBe('string');
  expect(res.headers.get('cache-control')).toContain('no-store');
}
