import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../context.js';
import { currentUser } from '../../http/session.js';

/** GET / (the issuer's path), the front door: a signed-in person goes to their account, anyone else to sign in. */
export function registerHome(app: FastifyInstance, ctx: AppContext): void {
  app.get('/', { config: { page: true } }, async (request, reply) => {
    const signedIn = await currentUser(ctx, request);
    return reply.redirect(`${ctx.config.issuerPath}${signedIn ? '/account' : '/login'}`, 303);
  });
}
