import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../context.js';
import { hmacSha256, safeEqual, sha256 } from '../lib/hash.js';
import { randomToken } from '../lib/random.js';
import { CSRF_COOKIE, cookieOptions, SESSION_COOKIE } from './cookies.js';

export { CSRF_COOKIE };
export const CSRF_FIELD = '_csrf';

/** A form POST without a valid CSRF token. */
export class CsrfError extends Error {
  constructor() {
    super(
      'the form has expired or did not come from this site; go back, reload the page and try again',
    );
    this.name = 'CsrfError';
  }
}

/*
 * Signed double-submit: a random cookie, and in each form an HMAC of it under
 * the instance secret. A cross-site page can neither read the cookie nor forge
 * the HMAC. The HMAC also covers the session cookie, so a token is good only
 * for the session it was made in (a pair planted from elsewhere before sign-in
 * is worthless after it), and the seed is replaced at every sign-in.
 */

function expected(ctx: AppContext, request: FastifyRequest, seed: string): string {
  const session = request.cookies[SESSION_COOKIE];
  return hmacSha256(ctx.config.secret, `csrf:${seed}:${session ? sha256(session) : ''}`);
}

function newSeed(ctx: AppContext, request: FastifyRequest, reply: FastifyReply): string {
  const seed = randomToken(32);
  reply.setCookie(CSRF_COOKIE, seed, cookieOptions(ctx));
  // Later calls in this request must agree with the cookie just set.
  request.cookies[CSRF_COOKIE] = seed;
  return seed;
}

/** The token to put in a form's hidden `_csrf` field; sets the cookie when there is none. */
export function csrfToken(ctx: AppContext, request: FastifyRequest, reply: FastifyReply): string {
  const seed = request.cookies[CSRF_COOKIE];
  return expected(ctx, request, seed?.length === 43 ? seed : newSeed(ctx, request, reply));
}

/** Replaces the seed, so no token handed out before (before a sign-in) is accepted after. */
export function rotateCsrf(ctx: AppContext, request: FastifyRequest, reply: FastifyReply): void {
  newSeed(ctx, request, reply);
}

/** Throws CsrfError unless the form carries the token that matches the cookie and the session. */
export function checkCsrf(ctx: AppContext, request: FastifyRequest): void {
  const seed = request.cookies[CSRF_COOKIE];
  const body = request.body as Record<string, unknown> | undefined;
  const sent = body?.[CSRF_FIELD];
  if (!seed || typeof sent !== 'string') throw new CsrfError();
  if (!safeEqual(sent, expected(ctx, request, seed))) throw new CsrfError();
}
