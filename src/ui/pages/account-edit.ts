import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type AppContext, nowSeconds } from '../../context.js';
import { checkProfile, LIMITS } from '../../domain/users.js';
import { checkCsrf } from '../../http/csrf.js';
import type { SignedIn } from '../../http/session.js';
import { fold } from '../../lib/fold.js';
import type { User } from '../../store/types.js';
import { sendPage } from '../render.js';
import { recordAudit } from './audit.js';
import { readForm } from './form.js';
import { type FormError, formErrorOf } from './messages.js';
import { requireSignIn } from './require-sign-in.js';

const FIELDS = ['given_name', 'family_name', 'username', 'email', 'phone_number'] as const;
type Values = Partial<Record<(typeof FIELDS)[number], string>>;

const valuesOf = (user: User): Values => ({
  given_name: user.givenName ?? '',
  family_name: user.familyName ?? '',
  username: user.username,
  email: user.email,
  phone_number: user.phoneNumber ?? '',
});

function showEdit(
  ctx: AppContext,
  request: FastifyRequest,
  reply: FastifyReply,
  signedIn: SignedIn,
  values: Values,
  error?: FormError,
  status = 200,
): FastifyReply {
  return sendPage(
    ctx,
    request,
    reply,
    'account-edit',
    {
      title: 'Edit your profile',
      signedInAs: signedIn.user.username,
      values,
      error,
      limits: LIMITS,
    },
    status,
  );
}

/** GET /account/edit shows the profile form; POST saves it. */
export function registerAccountEdit(app: FastifyInstance, ctx: AppContext): void {
  app.get('/account/edit', { config: { page: true } }, async (request, reply) => {
    const signedIn = await requireSignIn(ctx, request, reply, '/account/edit');
    if (!signedIn) return reply;
    return showEdit(ctx, request, reply, signedIn, valuesOf(signedIn.user));
  });

  app.post('/account/edit', { config: { page: true } }, async (request, reply) => {
    checkCsrf(ctx, request);
    const signedIn = await requireSignIn(ctx, request, reply, '/account/edit');
    if (!signedIn) return reply;
    const form = readForm(request, FIELDS);
    const { user } = signedIn;
    try {
      // A field left out of the POST is left as it is; one sent empty is cleared (or refused, when required).
      const patch = checkProfile({
        username: form.username,
        email: form.email,
        givenName: form.given_name,
        familyName: form.family_name,
        phoneNumber: form.phone_number,
      });
      // A new address has not been shown to belong to this person; the same one in another
      // case or Unicode form has.
      if (patch.email !== undefined && fold(patch.email) !== fold(user.email)) {
        patch.emailVerified = false;
      }
      await ctx.store.users.update(user.id, patch, nowSeconds(ctx));
      await recordAudit(ctx, request, 'user.updated', user.id, {
        fields: Object.keys(patch).filter((k) => k !== 'emailVerified'),
      });
    } catch (error) {
      const shown = formErrorOf(error);
      if (!shown) throw error;
      return showEdit(ctx, request, reply, signedIn, form, shown.error, shown.status);
    }
    return reply.redirect('/account?notice=updated', 303);
  });
}
