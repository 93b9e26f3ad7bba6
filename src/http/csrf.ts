import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../context.js';
import { hmacSha256, safeEqual } from '../lib/hash.js';
import { randomToken } from '../lib/random.js';
import { cookieOptions } from './session.js';

export const CSRF_COOKIE = 'tessera_csrf';
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
 * the instance secret. A cross-site page can neither read the cookie nor forge the HMAC.
 */

/** The token to put in a form's hidden `_csrf` field; sets the cookie when there is none. */
export function csrfToken(ctx: AppContext, request: FastifyRequest, reply: FastifyReply): string {
  let seed = request.cookies[CSRF_COOKIE];
  if (seed?.length !== 43) {
    seed = randomToken(32);
    reply.setCookie(CSRF_COOKIE, seed, cookieOptions(ctx));
    // Later calls in this request must agree with the cookie just set.
    request.cookies[CSRF_COOKIE] = seed;
  }
  return hmacSha256(ctx.config.secret, `csrf:${seed}`);
}

/** Throws CsrfError unless the form carries the token that matches the cookie. */
export function checkCsrf(ctx: AppContext, request: FastifyRequest): void {
  const seed = request.cookies[CSRF_COOKIE];
  const body = request.body as Record<string, unknown> | undefined;
  const sent = body?.[CSRF_FIELD];
  if (!seed || typeof sent !== 'string') throw new CsrfError();
  if (!safeEqual(sent, hmacSha256(ctx.config.secret, `csrf:${seed}`))) throw new CsrfError();
}
