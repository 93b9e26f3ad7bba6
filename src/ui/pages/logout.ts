import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../context.js';
import { checkCsrf } from '../../http/csrf.js';
import { signOut } from '../../http/session.js';
import { recordAudit } from './audit.js';

/*
 * Sign-out from Tessera's own pages. OpenID RP-initiated logout (GET /logout
 * with id_token_hint) belongs to oauth/ and extends this file's handler later.
 */

/** POST /logout: ends the browser's session and goes back to the sign-in page. */
export function registerLogout(app: FastifyInstance, ctx: AppContext): void {
  app.post('/logout', { config: { page: true } }, async (request, reply) => {
    checkCsrf(ctx, request);
    const ended = await signOut(ctx, request, reply);
    if (ended)
      await recordAudit(ctx, request, 'user.logout', ended.userId, { session_id: ended.id });
    return reply.redirect('/login', 303);
  });
}
