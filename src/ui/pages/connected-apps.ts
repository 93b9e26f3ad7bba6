import type { FastifyInstance } from 'fastify';
import { type AppContext, nowSeconds } from '../../context.js';
import { NotFoundError } from '../../domain/errors.js';
import { checkCsrf } from '../../http/csrf.js';
import { recordAudit } from './audit.js';
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
    const { user } = signedIn;
    const grant = grantId
      ? await ctx.store.grants.findById(grantId)
      : clientId
        ? await ctx.store.grants.find(user.id, clientId)
        : undefined;
    // Someone else's grant is answered exactly like a missing one.
    if (!grant || grant.userId !== user.id) throw new NotFoundError('connected app');
    await ctx.store.grants.revoke(grant.id, nowSeconds(ctx));
    await recordAudit(ctx, request, 'grant.revoked', user.id, { client_id: grant.clientId });
    return reply.redirect('/account?notice=revoked', 303);
  });
}
