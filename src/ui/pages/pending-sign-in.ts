import type { FastifyReply, FastifyRequest } from 'fastify';
import { type AppContext, nowSeconds } from '../../context.js';
import { CSRF_COOKIE, cookieOptions } from '../../http/cookies.js';
import { csrfToken } from '../../http/csrf.js';
import { safeEqual, sha256 } from '../../lib/hash.js';
import { randomToken } from '../../lib/random.js';
import { seal, unseal } from '../../lib/seal.js';

/** A sign-in between its first factor and its session: waiting for a second factor or a verified address. */
export const PENDING_COOKIE = 'tessera_pending';

/** How long a person has to give the second factor or verify their address. */
export const PENDING_SECONDS = 600;

export interface PendingSignIn {
  userId: string;
  /** The methods used so far (RFC 8176), e.g. ['pwd']. */
  amr: string[];
  /** The password hash checked, so the session starts only while it is still theirs. */
  passwordHash?: string;
  returnTo: string | undefined;
  /** Seconds since the epoch. */
  expiresAt: number;
  /** Random: spent once in the markers store when the sign-in completes, so a copy cannot resume it again. */
  id: string;
  /** SHA-256 of this browser's CSRF seed: a copy of the cookie is worthless in another browser. */
  browser: string;
}

const PURPOSE = 'pending-sign-in';

/**
 * Holds a first factor in a sealed cookie (unreadable, unforgeable) until the next step, bound to
 * this browser (its CSRF seed cookie, made here when it has none) and with an id of its own.
 */
export function holdSignIn(
  ctx: AppContext,
  request: FastifyRequest,
  reply: FastifyReply,
  pending: Omit<PendingSignIn, 'expiresAt' | 'id' | 'browser'>,
): void {
  csrfToken(ctx, request, reply);
  const seed = request.cookies[CSRF_COOKIE] ?? '';
  const value: PendingSignIn = {
    ...pending,
    expiresAt: nowSeconds(ctx) + PENDING_SECONDS,
    id: randomToken(16),
    browser: sha256(seed),
  };
  reply.setCookie(
    PENDING_COOKIE,
    seal(ctx.config.secret, PURPOSE, JSON.stringify(value)),
    cookieOptions(ctx, PENDING_SECONDS),
  );
}

/** The browser's pending sign-in; undefined when there is none, it was altered, or it expired. */
export function readPendingSignIn(
  ctx: AppContext,
  request: FastifyRequest,
): PendingSignIn | undefined {
  const sealed = request.cookies[PENDING_COOKIE];
  if (!sealed || sealed.length > 4096) return undefined;
  try {
    const value = JSON.parse(unseal(ctx.config.secret, PURPOSE, sealed)) as PendingSignIn;
    const seed = request.cookies[CSRF_COOKIE];
    const sameBrowser =
      typeof value.browser === 'string' && !!seed && safeEqual(value.browser, sha256(seed));
    return value.expiresAt > nowSeconds(ctx) && sameBrowser && typeof value.id === 'string'
      ? value
      : undefined;
  } catch {
    return undefined;
  }
}

export function clearPendingSignIn(ctx: AppContext, reply: FastifyReply): void {
  reply.clearCookie(PENDING_COOKIE, cookieOptions(ctx));
}

/**
 * Completes a pending sign-in: clears its cookie and spends its id, once. False when it was
 * completed already (a copy of the cookie replayed): the caller starts no session.
 */
export async function completePendingSignIn(
  ctx: AppContext,
  reply: FastifyReply,
  pending: PendingSignIn,
): Promise<boolean> {
  clearPendingSignIn(ctx, reply);
  return ctx.store.markers.use(`pending-sign-in:${pending.id}`, pending.expiresAt);
}
