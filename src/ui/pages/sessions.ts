import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../context.js';
import { NotFoundError } from '../../domain/errors.js';
import { endSession, endSessionsOfUser } from '../../domain/sessions.js';
import { checkCsrf } from '../../http/csrf.js';
import { readForm } from './form.js';
import { requireSignIn } from './require-sign-in.js';

/** Ending sessions from the account page: one other browser, or all the others. */
export function registerSessionPages(app: FastifyInstance, ctx: AppContext): void {
  app.post('/account/sessions/end', { config: { page: true } }, async (request, reply) => {
    checkCsrf(ctx, request);
    const signedIn = await requireSignIn(ctx, request, reply, '/account');
    if (!signedIn) return reply;
    const { session_id: sessionId } = readForm(request, ['session_id'] as const);
    const session = sessionId ? await ctx.store.sessions.findById(sessionId) : undefined;
    if (!session || session.userId !== signedIn.user.id || session.endedAt !== null) {
      throw new NotFoundError('session');
    }
    if (session.id === signedIn.session.id)
      return reply.redirect(`${ctx.config.issuerPath}/account`, 303);
    await endSession(ctx, session, { by: 'self', reason: 'ended', ip: request.ip });
    return reply.redirect(`${ctx.config.issuerPath}/account?notice=session-ended`, 303);
  });

  app.post('/account/sessions/end-all', { config: { page: true } }, async (request, reply) => {
    checkCsrf(ctx, request);
    const signedIn = await requireSignIn(ctx, request, reply, '/account');
    if (!signedIn) return reply;
    const ending = { by: 'self', reason: 'ended', ip: request.ip } as const;
    await endSessionsOfUser(ctx, signedIn.user.id, ending, signedIn.session.id);
    return reply.redirect(`${ctx.config.issuerPath}/account?notice=sessions-ended`, 303);
  });
}
