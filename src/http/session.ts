import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../context.js';
import {
  endSession,
  findSession,
  renewSession,
  type StartSessionInput,
  startCheckedSession,
  startSession,
} from '../domain/sessions.js';
import type { Session, SessionGuard, User } from '../store/types.js';
import { cookieOptions, SESSION_COOKIE } from './cookies.js';
import { rotateCsrf } from './csrf.js';

export { cookieOptions, SESSION_COOKIE };

export interface SignedIn {
  session: Session;
  user: User;
}

const cache = new WeakMap<FastifyRequest, Promise<SignedIn | undefined>>();

/** The signed-in person of this request, looked up once per request. */
export function currentUser(
  ctx: AppContext,
  request: FastifyRequest,
): Promise<SignedIn | undefined> {
  let found = cache.get(request);
  if (!found) {
    found = (async () => {
      const session = await findSession(ctx, request.cookies[SESSION_COOKIE]);
      if (!session) return undefined;
      const user = await ctx.store.users.findById(session.userId);
      return user ? { session, user } : undefined;
    })();
    cache.set(request, found);
  }
  return found;
}

/**
 * Signs `input.userId` in: a new session, or the browser's current one renewed when it is the
 * same person's; with `guard`, only while the verified password is still theirs. Sets the cookie
 * and renews the CSRF seed. Undefined when the guard no longer holds.
 */
export async function signIn(
  ctx: AppContext,
  request: FastifyRequest,
  reply: FastifyReply,
  input: Omit<StartSessionInput, 'userAgent' | 'ip'>,
  guard?: SessionGuard,
): Promise<Session | undefined> {
  const full = { ...input, userAgent: request.headers['user-agent'] ?? null, ip: request.ip };
  const previous = await currentUser(ctx, request);
  let started: { session: Session; secret: string } | undefined;
  if (previous?.user.id === input.userId) {
    started = await renewSession(ctx, previous.session, full, guard);
  } else {
    // Someone else's session in this browser ends first, through the domain, so that its apps
    // hear of it (back-channel logout); signing in never inherits another person's session.
    if (previous) {
      await endSession(ctx, previous.session, { by: 'system', reason: 'replaced', ip: request.ip });
    }
    started = guard ? await startCheckedSession(ctx, full, guard) : await startSession(ctx, full);
  }
  if (!started) return undefined;
  const { session, secret } = started;
  reply.setCookie(SESSION_COOKIE, secret, cookieOptions(ctx, ctx.config.sessionTtl));
  // Pages rendered later in this request belong to the new session, and its CSRF tokens are new.
  request.cookies[SESSION_COOKIE] = secret;
  rotateCsrf(ctx, request, reply);
  const user = await ctx.store.users.findById(input.userId);
  if (user) cache.set(request, Promise.resolve({ session, user }));
  return session;
}

/** Ends the request's session, if any (the person signing out), and clears the cookie. */
export async function signOut(
  ctx: AppContext,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<Session | undefined> {
  const current = await currentUser(ctx, request);
  if (current)
    await endSession(ctx, current.session, { by: 'self', reason: 'logout', ip: request.ip });
  reply.clearCookie(SESSION_COOKIE, cookieOptions(ctx));
  delete request.cookies[SESSION_COOKIE];
  cache.set(request, Promise.resolve(undefined));
  return current?.session;
}
