import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../../context.js';
import { confirmPassword } from '../../domain/sign-in.js';
import { deleteUser } from '../../domain/user-changes.js';
import { checkCsrf } from '../../http/csrf.js';
import { type SignedIn, signOut } from '../../http/session.js';
import { sendPage } from '../render.js';
import { type AccountPageData, accountPageData } from './account-data.js';
import { queryParam, readForm } from './form.js';
import { requireSignIn } from './require-sign-in.js';
import { retryAfter, tooManyFailures } from './too-many.js';

const NOTICES: Record<string, string> = {
  updated: 'Your profile has been saved.',
  revoked: "The app's access has been revoked.",
  'session-ended': 'The session has been ended.',
  'sessions-ended': 'All your other sessions have been ended.',
  'password-changed': 'Your password has been changed, and your other sessions have been ended.',
  'two-factor-on':
    'Two-factor authentication is on: signing in asks for a code from your authenticator app.',
  'two-factor-off': 'Two-factor authentication with an authenticator app is off.',
  'passkey-added': 'Your passkey has been added.',
  'passkey-renamed': 'Your passkey has been renamed.',
  'passkey-removed': 'Your passkey has been removed.',
};

/** The account page, with `extra` (a form's error) over what it always shows. */
export async function showAccount(
  ctx: AppContext,
  request: FastifyRequest,
  reply: FastifyReply,
  signedIn: SignedIn,
  extra: Partial<AccountPageData> = {},
  status = 200,
): Promise<FastifyReply> {
  const data = await accountPageData(ctx, signedIn);
  return sendPage(ctx, request, reply, 'account', { ...data, ...extra }, status);
}

/** GET /account shows the profile; POST /account/delete deletes the account after a password check. */
export function registerAccount(app: FastifyInstance, ctx: AppContext): void {
  app.get('/account', { config: { page: true } }, async (request, reply) => {
    const signedIn = await requireSignIn(ctx, request, reply, '/account');
    if (!signedIn) return reply;
    const notice = NOTICES[queryParam(request, 'notice') ?? ''];
    return showAccount(ctx, request, reply, signedIn, notice ? { notice } : {});
  });

  app.post('/account/delete', { config: { page: true } }, async (request, reply) => {
    checkCsrf(ctx, request);
    const signedIn = await requireSignIn(ctx, request, reply, '/account');
    if (!signedIn) return reply;
    const { password } = readForm(request, ['password'] as const);
    // Asking for the password again means a moment at an unlocked screen is not enough.
    // TODO: accounts without a password (upstream sign-in) need another confirmation.
    // Within the sign-in limits: a stolen session must not become a way to guess the password.
    const checked = password
      ? await confirmPassword(ctx, signedIn.user, password, request.ip, 'delete_account')
      : undefined;
    if (!checked?.ok) {
      const lockedFor = checked?.lockedFor ?? 0;
      const message = !password
        ? 'Enter your password to delete your account.'
        : lockedFor > 0
          ? `${tooManyFailures(lockedFor)} Your account was not deleted.`
          : 'Incorrect password: your account was not deleted.';
      if (lockedFor > 0) retryAfter(reply, lockedFor);
      return showAccount(
        ctx,
        request,
        reply,
        signedIn,
        { deleteError: { message, field: 'password' } },
        !password ? 400 : lockedFor > 0 ? 429 : 401,
      );
    }
    await deleteUser(ctx, signedIn.user, { by: 'self', ip: request.ip });
    // The session ended with the account; this clears the cookie.
    await signOut(ctx, request, reply);
    return reply.redirect(`${ctx.config.issuerPath}/login?deleted=1`, 303);
  });
}
