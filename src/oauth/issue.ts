import { createHash } from 'node:crypto';
import { type AppContext, nowSeconds } from '../context.js';
import { sha256 } from '../lib/hash.js';
import { isJwsAlg, signJws } from '../lib/jws.js';
import { randomId, randomToken } from '../lib/random.js';
import type { Api, Client, TokenRecord, User } from '../store/types.js';
import { pickClaims, releasedClaimNames } from './claims.js';
import { requestedClaimNames } from './claims-request.js';
import { formatScope } from './scopes.js';

/** Who and what a token is for; shared by every grant. */
export interface TokenSubject {
  client: Client;
  /** Undefined for client_credentials: the client acts for itself. */
  user?: User;
  scopes: string[];
  grantId?: string;
  familyId?: string;
  sessionId?: string | null;
  authTime?: number;
  acr?: string | null;
  amr?: string[] | null;
  /** The `claims` request parameter as JSON text, carried into refreshed tokens. */
  claims?: string | null;
  /** The audience of the access token, when not the default one (token exchange). */
  audience?: string;
  /**
   * The API (RFC 8707 resource) the access token is for: its `aud` is the API's identifier, its
   * scope the scopes granted that are the API's, its format and lifetime the API's when it sets
   * them. Undefined: the token is for the issuer (or `audience`), with every granted scope.
   */
  api?: Api;
  /** Who acts for the subject (RFC 8693 §4.1), for a token issued by token exchange. */
  act?: Actor;
  /**
   * The thumbprint of the DPoP key the access token is bound to (RFC 9449 §6): its `cnf.jkt`, or
   * its record's. Undefined or null: a Bearer token.
   */
  jkt?: string | null;
}

/** The `act` claim of RFC 8693 §4.1: the current actor, and the earlier ones nested inside. */
export interface Actor {
  sub: string;
  act?: Actor;
}

export interface IssuedAccessToken {
  token: string;
  expiresIn: number;
  /** The access token's scope: for an API, only the granted scopes that are its own. */
  scope: string;
}

/** The audience of access tokens: resource servers check it. */
export const accessTokenAudience = (ctx: AppContext): string => ctx.config.issuer;

/** A token made and signed, with the record to store for it (if any): the caller saves it. */
export interface MintedToken {
  token: string;
  expiresIn: number;
  /** The access token's scope: for an API, only the granted scopes that are its own. */
  scope: string;
  record: TokenRecord | undefined;
}

/** The scopes an access token for `api` carries: those granted that the API defines. */
export function scopesForApi(scopes: readonly string[], api: Api | undefined): string[] {
  return api ? scopes.filter((s) => api.scopes.includes(s)) : [...scopes];
}

/**
 * Makes an access token: a JWT per RFC 9068 signed with ES256, or an opaque
 * random string when the client asks for those. A token made for a person has
 * a record (so revoking its grant or family reaches it); a client_credentials
 * JWT has none, and its revocation is recorded when it happens.
 */
export function mintAccessToken(ctx: AppContext, subject: TokenSubject): MintedToken {
  const now = nowSeconds(ctx);
  const api = subject.api;
  const ttl = api?.accessTokenTtl ?? ctx.config.accessTokenTtl;
  const scope = formatScope(scopesForApi(subject.scopes, api));
  const audience = api?.identifier ?? subject.audience ?? accessTokenAudience(ctx);
  const format = api?.accessTokenFormat ?? subject.client.accessTokenFormat;
  const record = (id: string, format: TokenRecord['format']): TokenRecord => ({
    id,
    kind: 'access',
    format,
    clientId: subject.client.id,
    userId: subject.user?.id ?? null,
    grantId: subject.grantId ?? null,
    familyId: subject.familyId ?? null,
    sessionId: subject.sessionId ?? null,
    scope,
    audience,
    authTime: subject.authTime ?? null,
    acr: subject.acr ?? null,
    amr: subject.amr ?? null,
    claims: subject.claims ?? null,
    act: subject.act ? JSON.stringify(subject.act) : null,
    jkt: subject.jkt ?? null,
    createdAt: now,
    expiresAt: now + ttl,
    familyExpiresAt: null,
    rotatedAt: null,
    revokedAt: null,
  });

  if (format === 'opaque') {
    const token = randomToken(32);
    return { token, expiresIn: ttl, scope, record: record(sha256(token), 'opaque') };
  }

  const jti = randomId(16);
  const key = ctx.keys.signingKey('ES256');
  const claims: Record<string, unknown> = {
    iss: ctx.config.issuer,
    sub: subject.user?.id ?? subject.client.id,
    aud: audience,
    client_id: subject.client.id,
    scope,
    jti,
    iat: now,
    exp: now + ttl,
  };
  if (subject.act) claims.act = subject.act;
  if (subject.jkt) claims.cnf = { jkt: subject.jkt };
  if (subject.user) {
    if (subject.authTime !== undefined) claims.auth_time = subject.authTime;
    if (subject.acr) claims.acr = subject.acr;
    if (subject.amr) claims.amr = subject.amr;
    if (subject.sessionId) claims.sid = subject.sessionId;
  }
  const token = signJws({ alg: 'ES256', typ: 'at+jwt', kid: key.kid }, claims, key.privateKey);
  return { token, expiresIn: ttl, scope, record: subject.user ? record(jti, 'jwt') : undefined };
}

/** Makes and stores an access token (see mintAccessToken). */
export async function issueAccessToken(
  ctx: AppContext,
  subject: TokenSubject,
): Promise<IssuedAccessToken> {
  const { token, expiresIn, scope, record } = mintAccessToken(ctx, subject);
  if (record) await ctx.store.tokens.save(record);
  return { token, expiresIn, scope };
}

/**
 * Makes a refresh token in `familyId`; the family ends at `familyExpiresAt` whatever the
 * rotations. `refreshJkt`: the DPoP key it is bound to (a public client's, RFC 9449 §5).
 */
export function mintRefreshToken(
  ctx: AppContext,
  subject: TokenSubject & {
    familyId: string;
    familyExpiresAt: number;
    refreshJkt: string | null;
    /** The resources (RFC 8707) the authorization granted: the refresh token may be used for each. */
    resources: readonly string[];
  },
): { token: string; record: TokenRecord } {
  const now = nowSeconds(ctx);
  const token = randomToken(32);
  const record: TokenRecord = {
    id: sha256(token),
    kind: 'refresh',
    format: 'opaque',
    clientId: subject.client.id,
    userId: subject.user?.id ?? null,
    grantId: subject.grantId ?? null,
    familyId: subject.familyId,
    sessionId: subject.sessionId ?? null,
    scope: formatScope(subject.scopes),
    audience: subject.resources.length > 0 ? subject.resources.join(' ') : null,
    authTime: subject.authTime ?? null,
    acr: subject.acr ?? null,
    amr: subject.amr ?? null,
    claims: subject.claims ?? null,
    act: null,
    jkt: subject.refreshJkt,
    createdAt: now,
    expiresAt: subject.familyExpiresAt,
    familyExpiresAt: subject.familyExpiresAt,
    rotatedAt: null,
    revokedAt: null,
  };
  return { token, record };
}

/** OpenID Connect Core §3.3.2.11: the left half of the hash of a token, for at_hash and c_hash. */
export function halfHash(alg: string, value: string): string {
  const digest = alg === 'EdDSA' ? 'sha512' : 'sha256';
  const hash = createHash(digest).update(value).digest();
  return hash.subarray(0, hash.length / 2).toString('base64url');
}

export interface IdTokenInput extends TokenSubject {
  user: User;
  nonce?: string | null;
  accessToken?: string;
  code?: string;
}

const SUB_ONLY: ReadonlySet<string> = new Set(['sub']);

/**
 * The claims a token's `claims` request releases to `target`, besides `sub`: only those the
 * client's scopes could release (checked again here, should its scopes have changed since).
 */
export function claimNamesFor(
  client: Client,
  scopes: readonly string[],
  claims: string | null | undefined,
  target: 'id_token' | 'userinfo',
): ReadonlySet<string> {
  const byScope = target === 'userinfo' ? releasedClaimNames(scopes) : SUB_ONLY;
  const asked = requestedClaimNames(claims, target);
  if (asked.length === 0) return byScope;
  const allowed = releasedClaimNames(client.scopes);
  return new Set([...byScope, ...asked.filter((name) => allowed.has(name))]);
}

/**
 * Issues an ID token (OpenID Connect Core §2), signed with the client's algorithm (RS256 by
 * default). Every flow Tessera serves issues an access token, so the claims the scopes release
 * go to /userinfo and the ID token carries only those asked for by name (§5.4, §5.5).
 */
export function issueIdToken(ctx: AppContext, input: IdTokenInput): string {
  const now = nowSeconds(ctx);
  const alg = isJwsAlg(input.client.idTokenSignedResponseAlg)
    ? input.client.idTokenSignedResponseAlg
    : 'RS256';
  const key = ctx.keys.signingKey(alg);
  const names = claimNamesFor(input.client, input.scopes, input.claims, 'id_token');
  const claims: Record<string, unknown> = {
    ...pickClaims(input.user, ctx.config.issuer, names),
    iss: ctx.config.issuer,
    sub: input.user.id,
    aud: input.client.id,
    exp: now + ctx.config.idTokenTtl,
    iat: now,
    azp: input.client.id,
  };
  // Every ID token says when the person signed in, refreshed ones too (OpenID Connect Core §2
  // allows it always), so a client's require_auth_time is always met.
  if (input.authTime !== undefined) claims.auth_time = input.authTime;
  if (input.nonce) claims.nonce = input.nonce;
  if (input.acr) claims.acr = input.acr;
  if (input.amr) claims.amr = input.amr;
  if (input.sessionId) claims.sid = input.sessionId;
  if (input.accessToken) claims.at_hash = halfHash(alg, input.accessToken);
  if (input.code) claims.c_hash = halfHash(alg, input.code);
  return signJws({ alg, typ: 'JWT', kid: key.kid }, claims, key.privateKey);
}
