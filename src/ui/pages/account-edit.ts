import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../../context.js';
import { requestEmailChange } from '../../domain/email-verification.js';
import { updateProfile } from '../../domain/user-changes.js';
import { LIMITS } from '../../domain/users.js';
import { checkCsrf } from '../../http/csrf.js';
import type { SignedIn } from '../../http/session.js';
import { fold } from '../../lib/fold.js';
import type { User } from '../../store/types.js';
import { sendPage } from '../render.js';
import { reauthenticate, reauthRetryAfter, recentlySignedIn } from './confirm-identity.js';
import { readForm } from './form.js';
import { type FormError, formErrorOf } from './messages.js';
import { requireSignIn } from './require-sign-in.js';

const FIELDS = ['given_name', 'family_name', 'username', 'email', 'phone_number'] as const;
type Values = Partial<Record<(typeof FIELDS)[number], string>>;

const NOT_CHANGED = 'Your address was not changed.';

const valuesOf = (user: User): Values => ({
  given_name: user.givenName ?? '',
  family_name: user.familyName ?? '',
  username: user.username,
  // The address asked for, while it waits to be verified: the form shows what the person typed.
  email: user.pendingEmail ?? user.email,
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
      currentEmail: signedIn.user.email,
      pendingEmail: signedIn.user.pendingEmail,
      // The address signs in (e-mailed codes) and resets the password: changing it is a change of
      // sign-in factors, which an old sign-in must confirm.
      reauthNeeded: !recentlySignedIn(ctx, signedIn),
      error,
      limits: LIMITS,
    },
    status,
  );
}

/** Whether `typed` is the account's address as it stands (what the person sees on the form). */
function sameAddress(typed: string, user: User): boolean {
  const key = fold(typed.trim());
  return (
    key === fold(user.email) || (user.pendingEmail !== null && key === fold(user.pendingEmail))
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
    const form = readForm(request, [...FIELDS, 'confirmation'] as const);
    if (form.email !== undefined && !sameAddress(form.email, signedIn.user)) {
      const confirmed = await reauthenticate(
        ctx,
        signedIn,
        form.confirmation,
        request.ip,
        'change_email',
        NOT_CHANGED,
      );
      if (!confirmed.ok) {
        reauthRetryAfter(reply, confirmed);
        const error = { message: confirmed.message, field: 'confirmation' };
        return showEdit(ctx, request, reply, signedIn, form, error, confirmed.status);
      }
    }
    let pendingNotice = false;
    try {
      // A field left out of the POST is left as it is; one sent empty is cleared (or refused, when required).
      const user = await updateProfile(
        ctx,
        signedIn.user,
        {
          username: form.username,
          givenName: form.given_name,
          familyName: form.family_name,
          phoneNumber: form.phone_number,
        },
        { by: 'self', ip: request.ip },
      );
      // A new address waits, unused, until the code or link mailed to it is used.
      if (form.email !== undefined) {
        const changed = await requestEmailChange(ctx, user, form.email, request.ip);
        pendingNotice = changed.user.pendingEmail !== null;
      }
    } catch (error) {
      const shown = formErrorOf(error);
      if (!shown) throw error;
      return showEdit(ctx, request, reply, signedIn, form, shown.error, shown.status);
    }
    if (pendingNotice) return reply.redirect(`${ctx.config.issuerPath}/verify-email`, 303);
    return reply.redirect(`${ctx.config.issuerPath}/account?notice=updated`, 303);
  });
}
