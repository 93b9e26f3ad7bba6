import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../../context.js';
import { currentUser, type SignedIn } from '../../http/session.js';
import { loginUrl } from './login.js';

/**
 * The signed-in person, or undefined after answering with a 303 to the
 * sign-in page that comes back to `returnTo` (a path under the issuer's); the caller then returns `reply`.
 */
export async function requireSignIn(
  ctx: AppContext,
  request: FastifyRequest,
  reply: FastifyReply,
  returnTo: string,
): Promise<SignedIn | undefined> {
  const signedIn = await currentUser(ctx, request);
  if (!signedIn) await reply.redirect(loginUrl(ctx.config.issuerPath, returnTo), 303);
  return signedIn;
}
