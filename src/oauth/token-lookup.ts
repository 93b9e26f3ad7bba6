import { type AppContext, nowSeconds } from '../context.js';
import { sha256 } from '../lib/hash.js';
import type { TokenRecord, User } from '../store/types.js';
import type { Actor } from './issue.js';
import { splitScope } from './scopes.js';

/** An access or refresh token that is valid now, with what it grants. */
export interface ActiveToken {
  kind: 'access' | 'refresh';
  format: 'jwt' | 'opaque';
  clientId: string;
  /** The person, or undefined for a client's own token. */
  userId: string | undefined;
  /** `sub` as it appears to resource servers: the user, or the client itself. */
  sub: string;
  scopes: string[];
  audience: string | undefined;
  issuedAt: number;
  expiresAt: number;
  /** The jti of a JWT, or the hash of an opaque token: the stored record's id. */
  id: string;
  sessionId: string | undefined;
  claims: string | null;
  /** Who acts for the subject, for a token issued by token exchange (RFC 8693 §4.1). */
  act: Actor | undefined;
  /** The thumbprint of the DPoP key the token is bound to (RFC 9449 §6), if it is bound. */
  jkt: string | undefined;
  record: TokenRecord | undefined;
  /** The person, read with the token's record; undefined for a client's own token. */
  user: User | undefined;
}

/** The `cnf.jkt` of a JWT access token (RFC 9449 §6.1), if it has one. */
function boundKey(cnf: unknown): string | undefined {
  if (typeof cnf !== 'object' || cnf === null) return undefined;
  const jkt = (cnf as { jkt?: unknown }).jkt;
  return typeof jkt === 'string' ? jkt : undefined;
}

const looksLikeJwt = (token: string) => token.split('.').length === 3;

function fromRecord(record: TokenRecord, user: User | undefined): ActiveToken {
  return {
    kind: record.kind,
    format: record.format,
    clientId: record.clientId,
    userId: record.userId ?? undefined,
    sub: record.userId ?? record.clientId,
    scopes: splitScope(record.scope),
    audience: record.audience ?? undefined,
    issuedAt: record.createdAt,
    expiresAt: record.expiresAt,
    id: record.id,
    sessionId: record.sessionId ?? undefined,
    claims: record.claims,
    act: actorOf(record.act === null ? undefined : JSON.parse(record.act)),
    jkt: record.jkt ?? undefined,
    record,
    user,
  };
}

/**
 * An `act` claim as Tessera wrote it: `sub` and the earlier actor, nested. Anything else is
 * dropped, so that nothing but actors is carried into the tokens made from this one.
 */
export function actorOf(value: unknown, depth = 0): Actor | undefined {
  if (depth > 10 || typeof value !== 'object' || value === null) return undefined;
  const { sub, act } = value as { sub?: unknown; act?: unknown };
  if (typeof sub !== 'string') return undefined;
  const earlier = actorOf(act, depth + 1);
  return earlier ? { sub, act: earlier } : { sub };
}

/**
 * A JWT access token we signed that is unexpired and not revoked. Its signature
 * and claims are checked in process; one indexed lookup by `jti` tells whether it
 * was revoked (for a person's token the record must exist: deleting the person,
 * the grant or the client removes or revokes it).
 */
async function activeJwt(
  ctx: AppContext,
  token: string,
  now: number,
): Promise<ActiveToken | undefined> {
  const verified = await ctx.keys.verify(token);
  if (verified?.header.typ !== 'at+jwt') return undefined;
  const claims = verified.payload;
  if (claims.iss !== ctx.config.issuer) return undefined;
  if (typeof claims.exp !== 'number' || claims.exp <= now) return undefined;
  if (
    typeof claims.jti !== 'string' ||
    typeof claims.client_id !== 'string' ||
    typeof claims.sub !== 'string'
  ) {
    return undefined;
  }
  const found = await ctx.store.tokens.findWithUser(claims.jti);
  const record = found?.token;
  if (record?.revokedAt != null) return undefined;
  const forPerson = claims.sub !== claims.client_id;
  if (forPerson && !record) return undefined;
  // A client's own (client_credentials) JWT is not stored, so deleting the client cannot
  // remove it: it is active only while its client exists.
  if (!forPerson && !(await ctx.clients.get(claims.client_id))) return undefined;
  return {
    kind: 'access',
    format: 'jwt',
    clientId: claims.client_id,
    userId: forPerson ? claims.sub : undefined,
    sub: claims.sub,
    scopes: typeof claims.scope === 'string' ? splitScope(claims.scope) : [],
    audience: typeof claims.aud === 'string' ? claims.aud : undefined,
    issuedAt: typeof claims.iat === 'number' ? claims.iat : now,
    expiresAt: claims.exp,
    id: claims.jti,
    sessionId: typeof claims.sid === 'string' ? claims.sid : undefined,
    claims: record?.claims ?? null,
    act: actorOf(claims.act),
    jkt: boundKey(claims.cnf),
    record,
    user: found?.user,
  };
}

async function activeStored(
  ctx: AppContext,
  token: string,
  kind: 'access' | 'refresh',
  now: number,
): Promise<ActiveToken | undefined> {
  if (token.length > 512) return undefined;
  const found = await ctx.store.tokens.findWithUser(sha256(token));
  const record = found?.token;
  if (!record || record.kind !== kind || record.revokedAt !== null || record.expiresAt <= now)
    return undefined;
  if (kind === 'refresh' && record.rotatedAt !== null) return undefined;
  return fromRecord(record, found.user);
}

/** The access token `token` is, if it is one and is active. */
export async function findActiveAccessToken(
  ctx: AppContext,
  token: string,
): Promise<ActiveToken | undefined> {
  const now = nowSeconds(ctx);
  return looksLikeJwt(token) ? activeJwt(ctx, token, now) : activeStored(ctx, token, 'access', now);
}

/** The refresh token `token` is, if it is one and is active (not rotated, revoked or expired). */
export async function findActiveRefreshToken(
  ctx: AppContext,
  token: string,
): Promise<ActiveToken | undefined> {
  if (looksLikeJwt(token)) return undefined;
  return activeStored(ctx, token, 'refresh', nowSeconds(ctx));
}
