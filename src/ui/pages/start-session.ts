import type { FastifyReply, FastifyRequest } from 'fastify';
import { type AppContext, nowSeconds } from '../../context.js';
import { currentUser, signIn } from '../../http/session.js';
import type { Session } from '../../store/types.js';

/**
 * Signs `userId` in after a password check. A session this browser already
 * had (perhaps someone else's) is ended first, so signing in always yields a
 * fresh session and never inherits an old one.
 */
export async function startPasswordSession(
  ctx: AppContext,
  request: FastifyRequest,
  reply: FastifyReply,
  userId: string,
): Promise<Session> {
  const previous = await currentUser(ctx, request);
  if (previous) await ctx.store.sessions.end(previous.session.id, nowSeconds(ctx));
  return signIn(ctx, request, reply, { userId, amr: ['pwd'] });
}
