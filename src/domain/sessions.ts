import { type AppContext, nowSeconds } from '../context.js';
import { sha256 } from '../lib/hash.js';
import { randomId, randomToken } from '../lib/random.js';
import type { Session } from '../store/types.js';

export interface StartSessionInput {
  userId: string;
  /** Authentication methods used (RFC 8176), e.g. ["pwd"]. */
  amr: string[];
  acr?: string | null;
  userAgent?: string | null;
  ip?: string | null;
}

/** Starts a browser session; returns it with the secret that goes in the cookie (stored only hashed). */
export async function startSession(
  ctx: AppContext,
  input: StartSessionInput,
): Promise<{ session: Session; secret: string }> {
  const now = nowSeconds(ctx);
  const secret = randomToken(32);
  const session: Session = {
    id: randomId(),
    secretHash: sha256(secret),
    userId: input.userId,
    authTime: now,
    amr: input.amr,
    acr: input.acr ?? null,
    userAgent: input.userAgent?.slice(0, 512) ?? null,
    ip: input.ip ?? null,
    createdAt: now,
    lastSeenAt: now,
    expiresAt: now + ctx.config.sessionTtl,
    endedAt: null,
  };
  await ctx.store.sessions.create(session);
  return { session, secret };
}

/** The active session a cookie value belongs to, if any. */
export async function findSession(
  ctx: AppContext,
  secret: string | undefined,
): Promise<Session | undefined> {
  if (!secret || secret.length > 128) return undefined;
  return ctx.store.sessions.findActiveBySecret(sha256(secret), nowSeconds(ctx));
}
