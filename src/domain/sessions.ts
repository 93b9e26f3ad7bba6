import { type AppContext, nowSeconds } from '../context.js';
import { sha256 } from '../lib/hash.js';
import { randomId, randomToken } from '../lib/random.js';
import type { Session, SessionGuard } from '../store/types.js';
import { acrForMethods } from './acr.js';
import { recordChange } from './audit.js';
import type { ChangedBy } from './user-changes.js';

export interface StartSessionInput {
  userId: string;
  /** Authentication methods used (RFC 8176), e.g. ["pwd"]. */
  amr: string[];
  /** The class they reach (domain/acr.ts); by default, what `amr` reaches. */
  acr?: string | null;
  userAgent?: string | null;
  ip?: string | null;
}

function fresh(ctx: AppContext, input: StartSessionInput) {
  const now = nowSeconds(ctx);
  const secret = randomToken(32);
  return {
    secret,
    renewal: {
      secretHash: sha256(secret),
      authTime: now,
      amr: input.amr,
      acr: input.acr ?? acrForMethods(input.amr),
      userAgent: input.userAgent?.slice(0, 512) ?? null,
      ip: input.ip ?? null,
      lastSeenAt: now,
      expiresAt: now + ctx.config.sessionTtl,
    },
  };
}

function newSession(ctx: AppContext, input: StartSessionInput) {
  const { secret, renewal } = fresh(ctx, input);
  const session: Session = {
    id: randomId(),
    userId: input.userId,
    createdAt: renewal.authTime,
    endedAt: null,
    ...renewal,
  };
  return { session, secret };
}

/** Starts a browser session; returns it with the secret that goes in the cookie (stored only hashed). */
export async function startSession(
  ctx: AppContext,
  input: StartSessionInput,
): Promise<{ session: Session; secret: string }> {
  const made = newSession(ctx, input);
  await ctx.store.sessions.create(made.session);
  return made;
}

/**
 * Starts the session of a sign-in whose password was checked against `guard.passwordHash`; undefined
 * when that is no longer the person's password (changed while the sign-in was checked).
 */
export async function startCheckedSession(
  ctx: AppContext,
  input: StartSessionInput,
  guard: SessionGuard,
): Promise<{ session: Session; secret: string } | undefined> {
  const made = newSession(ctx, input);
  return (await ctx.store.sessions.create(made.session, guard)) ? made : undefined;
}

/**
 * The same person signed in again in this browser (prompt=login, max_age, or simply the sign-in
 * page): the session is renewed in place, with a new secret, sign-in time and end, so that the
 * apps signed in through it keep their tokens. Undefined when it ended meanwhile, or the guard
 * no longer holds.
 */
export async function renewSession(
  ctx: AppContext,
  session: Session,
  input: StartSessionInput,
  guard?: SessionGuard,
): Promise<{ session: Session; secret: string } | undefined> {
  const { secret, renewal } = fresh(ctx, input);
  const renewed = await ctx.store.sessions.renew(session.id, renewal, guard);
  return renewed && { session: renewed, secret };
}

/**
 * How often a session's "last seen" is written, in seconds: the account page shows it to the
 * minute, so a browser loading pages in a loop costs one write a minute, not one a request.
 */
export const LAST_SEEN_EVERY = 60;

/**
 * The active session a cookie value belongs to, if any. Finding it is the browser being seen:
 * its "last seen" moves to now when it is at least LAST_SEEN_EVERY old. Only requests that carry
 * the session cookie get here (pages, /authorize, /logout); the token endpoint never does, so
 * refreshing tokens costs no write.
 */
export async function findSession(
  ctx: AppContext,
  secret: string | undefined,
): Promise<Session | undefined> {
  if (!secret || secret.length > 128) return undefined;
  const now = nowSeconds(ctx);
  const session = await ctx.store.sessions.findActiveBySecret(sha256(secret), now);
  // A time ahead of ours (another instance's clock) is left alone too.
  if (!session || now - session.lastSeenAt < LAST_SEEN_EVERY) return session;
  return markSeen(ctx, session, now);
}

async function markSeen(ctx: AppContext, session: Session, now: number): Promise<Session> {
  try {
    await ctx.store.sessions.touch(session.id, now);
    return { ...session, lastSeenAt: now };
  } catch (error) {
    // Bookkeeping: a database that cannot take the write just now must not fail the request.
    ctx.log.warn({ err: error, session: session.id }, 'could not record a session as seen');
    return session;
  }
}

/** Something that must happen when a session ends (OpenID Connect back-channel logout). */
export type SessionEndedHook = (ctx: AppContext, session: Session) => Promise<void>;

/** Who ended a session, why, and from where, for the audit log. */
export interface SessionEnding extends Omit<ChangedBy, 'by'> {
  /** As for account changes, or 'system' when no one chose it (another person signed in). */
  by: ChangedBy['by'] | 'system';
  reason:
    | 'logout' // the logout endpoint, which the pages' "Sign out" button posts to
    | 'ended' // "End session" / "End all other sessions" on the account page
    | 'replaced' // another person signed in in the same browser
    | 'password-changed'
    | 'password-reset' // "Forgot password?": every session, the resetting browser's included
    | 'user-deleted';
}

/**
 * Ends one session and runs the session-ended hooks. Every way a session ends
 * (sign-out, RP-initiated logout, another person signing in, the account page, a
 * password change, deleting the person, expiry through the purge job) comes
 * here, through the three exported functions below: the store revokes the tokens
 * issued in the session, and the hooks tell its apps (back-channel logout) in the
 * background. The caller records it in the audit log.
 */
async function end(ctx: AppContext, session: Session): Promise<boolean> {
  const ended = await ctx.store.sessions.end(session.id, nowSeconds(ctx));
  if (ended) {
    // Told in the background: a slow or dead app endpoint must not hold up a sign-in, a
    // password change or the purge job (each call waits up to 5 s).
    for (const hook of ctx.hooks.sessionEnded) {
      ctx.background.run('session-ended hook', () => hook(ctx, session));
    }
  }
  return ended;
}

/**
 * Ends a session (its tokens revoked, its apps told) and records it in the audit log as
 * `session.ended` with `ending`; a session that had already ended is neither ended nor
 * recorded again (false).
 */
export async function endSession(
  ctx: AppContext,
  session: Session,
  ending: SessionEnding,
): Promise<boolean> {
  const ended = await end(ctx, session);
  if (ended)
    await recordChange(ctx, 'session.ended', { userId: session.userId }, ending, {
      session_id: session.id,
      reason: ending.reason,
    });
  return ended;
}

/**
 * Ends every active session of a person, except `keepId`; returns how many ended. Recorded
 * as one `session.ended_all` with their count and ids, when any ended.
 */
export async function endSessionsOfUser(
  ctx: AppContext,
  userId: string,
  ending: SessionEnding,
  keepId?: string,
): Promise<number> {
  const sessions = await ctx.store.sessions.listActiveForUser(userId, nowSeconds(ctx));
  const ids: string[] = [];
  for (const session of sessions) {
    if (session.id !== keepId && (await end(ctx, session))) ids.push(session.id);
  }
  if (ids.length > 0) {
    await recordChange(ctx, 'session.ended_all', { userId }, ending, {
      count: ids.length,
      session_ids: ids,
      reason: ending.reason,
    });
  }
  return ids.length;
}

/** How many expired sessions are read at a time; the purge job reads until none is left. */
const EXPIRED_BATCH = 500;

/** Ends the sessions that expired without being ended, so that their end runs the hooks too. */
export async function endExpiredSessions(ctx: AppContext): Promise<number> {
  let count = 0;
  for (;;) {
    const expired = await ctx.store.sessions.listExpiredUnended(nowSeconds(ctx), EXPIRED_BATCH);
    // Not audited: no one ended these, and the rows keep when they expired.
    for (const session of expired) if (await end(ctx, session)) count += 1;
    if (expired.length < EXPIRED_BATCH) return count;
  }
}
