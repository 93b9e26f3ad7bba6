import type { FastifyReply, FastifyRequest } from 'fastify';
import { type AppContext, nowSeconds } from '../../context.js';
import { cookieOptions } from '../../http/cookies.js';
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
}

const PURPOSE = 'pending-sign-in';

/** Holds a first factor in a sealed cookie (unreadable, unforgeable) until the next step. */
export function holdSignIn(
  ctx: AppContext,
  reply: FastifyReply,
  pending: Omit<PendingSignIn, 'expiresAt'>,
): void {
  const value: PendingSignIn = { ...pending, expiresAt: nowSeconds(ctx) + PENDING_SECONDS };
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
    return value.expiresAt > nowSeconds(ctx) ? value : undefined;
  } catch {
    return undefined;
  }
}

export function clearPendingSignIn(ctx: AppContext, reply: FastifyReply): void {
  reply.clearCookie(PENDING_COOKIE, cookieOptions(ctx));
}
