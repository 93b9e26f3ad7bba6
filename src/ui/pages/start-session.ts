import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../../context.js';
import { endSession } from '../../domain/sessions.js';
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
  // Through the domain, so that the apps of the old session hear of its end (back-channel logout).
  if (previous) await endSession(ctx, previous.session);
  return signIn(ctx, request, reply, { userId, amr: ['pwd'] });
}
