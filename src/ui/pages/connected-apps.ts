import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../context.js';
import { NotFoundError } from '../../domain/errors.js';
import { findGrantOfUser, revokeGrant } from '../../domain/grants.js';
import { checkCsrf } from '../../http/csrf.js';
import { readForm } from './form.js';
import { requireSignIn } from './require-sign-in.js';

/**
 * "Revoke access" on the account page (seed 001's deauthorise): deletes the
 * person's grant to one app and revokes every code and token issued under it.
 * The form names the grant; seed 001's form, which names the client, works too.
 */
export function registerConnectedApps(app: FastifyInstance, ctx: AppContext): void {
  app.post('/account/apps/revoke', { config: { page: true } }, async (request, reply) => {
    checkCsrf(ctx, request);
    const signedIn = await requireSignIn(ctx, request, reply, '/account');
    if (!signedIn) return reply;
    const { grant_id: grantId, client_id: clientId } = readForm(request, [
      'grant_id',
      'client_id',
    ] as const);
    // Someone else's grant is answered exactly like a missing one.
    const grant = await findGrantOfUser(ctx, signedIn.user.id, { grantId, clientId });
    if (!grant) throw new NotFoundError('connected app');
    await revokeGrant(ctx, grant, { by: 'self', ip: request.ip });
    return reply.redirect(`${ctx.config.issuerPath}/account?notice=revoked`, 303);
  });
}
