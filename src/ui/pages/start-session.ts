import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../../context.js';
import { signIn } from '../../http/session.js';
import type { Session, SessionGuard } from '../../store/types.js';

/**
 * Signs `userId` in after a password check (against `guard.passwordHash`, when given). The same
 * person's session in this browser is renewed, so their apps keep their tokens through a fresh
 * sign-in (prompt=login, max_age); anyone else's is ended first. Undefined when the password
 * changed while it was being checked.
 */
export function startPasswordSession(
  ctx: AppContext,
  request: FastifyRequest,
  reply: FastifyReply,
  userId: string,
  guard?: SessionGuard,
): Promise<Session | undefined> {
  return signIn(ctx, request, reply, { userId, amr: ['pwd'] }, guard);
}
