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

/** Something that must happen when a session ends (OpenID Connect back-channel logout). */
export type SessionEndedHook = (ctx: AppContext, session: Session) => Promise<void>;

/**
 * Ends a session and runs the session-ended hooks. Every way a session ends
 * (sign-out, RP-initiated logout, signing in again, the account page, a
 * password change, deleting the person, expiry through the purge job) goes
 * through here: the store revokes the tokens issued in the session and the
 * hooks tell its apps (back-channel logout).
 */
export async function endSession(ctx: AppContext, session: Session): Promise<boolean> {
  const ended = await ctx.store.sessions.end(session.id, nowSeconds(ctx));
  if (ended) {
    for (const hook of ctx.hooks.sessionEnded) {
      try {
        await hook(ctx, session);
      } catch (error) {
        ctx.log.warn({ err: error, sid: session.id }, 'a session-ended hook failed');
      }
    }
  }
  return ended;
}

/** Ends every active session of a person, except `keepId`; returns how many ended. */
export async function endSessionsOfUser(
  ctx: AppContext,
  userId: string,
  keepId?: string,
): Promise<number> {
  const sessions = await ctx.store.sessions.listActiveForUser(userId, nowSeconds(ctx));
  let count = 0;
  for (const session of sessions) {
    if (session.id !== keepId && (await endSession(ctx, session))) count += 1;
  }
  return count;
}

/** How many expired sessions the purge job ends per round; the rest wait for the next one. */
const EXPIRED_BATCH = 500;

/** Ends the sessions that expired without being ended, so that their end runs the hooks too. */
export async function endExpiredSessions(ctx: AppContext): Promise<number> {
  const expired = await ctx.store.sessions.listExpiredUnended(nowSeconds(ctx), EXPIRED_BATCH);
  let count = 0;
  for (const session of expired) if (await endSession(ctx, session)) count += 1;
  return count;
}
