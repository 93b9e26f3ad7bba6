import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../../context.js';
import { noteSignInBrowser } from '../../domain/known-browsers.js';
import type { EventOrigin } from '../../domain/security-events.js';
import { BROWSER_COOKIE, cookieOptions } from '../../http/cookies.js';
import { browserName } from '../../lib/browser-name.js';
import { randomToken } from '../../lib/random.js';
import type { User } from '../../store/types.js';

/** The longest a browser keeps a cookie (RFC 6265bis caps Max-Age at 400 days). */
const BROWSER_COOKIE_SECONDS = 400 * 86_400;
/** What randomToken(32) makes: 43 base64url characters. */
const BROWSER_ID = /^[A-Za-z0-9_-]{43}$/;

/** Where a request comes from, as security events and their notices tell it. */
export function originOf(request: FastifyRequest): EventOrigin {
  const agent = request.headers['user-agent'];
  return { ip: request.ip, device: browserName(agent ?? null) };
}

/**
 * This browser's id, from its `tessera_browser` cookie, or a new one (set, or set again so it
 * lives another 400 days). Anything else in the cookie is replaced: it is ours to make.
 */
function browserIdOf(ctx: AppContext, request: FastifyRequest, reply: FastifyReply): string {
  const kept = request.cookies[BROWSER_COOKIE];
  const id = kept && BROWSER_ID.test(kept) ? kept : randomToken(32);
  reply.setCookie(BROWSER_COOKIE, id, cookieOptions(ctx, BROWSER_COOKIE_SECONDS));
  return id;
}

/** Called as a sign-in's session starts: a browser the person never used before is noticed. */
export function rememberBrowser(
  ctx: AppContext,
  request: FastifyRequest,
  reply: FastifyReply,
  user: Pick<User, 'id' | 'email'>,
): Promise<void> {
  return noteSignInBrowser(ctx, user, browserIdOf(ctx, request, reply), originOf(request));
}
