import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../context.js';
import { ValidationError } from '../../domain/errors.js';
import { setPassword } from '../../domain/password-change.js';
import { confirmPassword } from '../../domain/sign-in.js';
import { checkCsrf } from '../../http/csrf.js';
import { showAccount } from './account.js';
import { readForm } from './form.js';
import { originOf } from './known-browser.js';
import { formErrorOf } from './messages.js';
import { requireSignIn } from './require-sign-in.js';
import { retryAfter, tooManyFailures } from './too-many.js';

const FIELDS = ['current_password', 'new_password'] as const;

/**
 * POST /account/password: "Change password" on the account page. The current password
 * is asked for, so that a moment at an unlocked screen is not enough to take the
 * account; the new one must pass the password rule. Every other session ends; this one
 * stays signed in.
 */
export function registerAccountPassword(app: FastifyInstance, ctx: AppContext): void {
  app.post('/account/password', { config: { page: true } }, async (request, reply) => {
    checkCsrf(ctx, request);
    const signedIn = await requireSignIn(ctx, request, reply, '/account');
    if (!signedIn) return reply;
    const form = readForm(request, FIELDS);
    const refuse = (message: string, field: (typeof FIELDS)[number], status: number) =>
      showAccount(ctx, request, reply, signedIn, { passwordError: { message, field } }, status);

    const { user, session } = signedIn;
    // TODO: accounts without a password (upstream sign-in) need another way to set one.
    if (!form.current_password)
      return refuse('Enter your current password.', 'current_password', 400);
    // Within the sign-in limits: a stolen session must not become a way to guess the password.
    const checked = await confirmPassword(
      ctx,
      user,
      form.current_password,
      request.ip,
      'change_password',
    );
    // Failures are audited with the sign-in limits' own aggregated events (domain/sign-in.ts).
    if (!checked.ok) {
      if (checked.lockedFor > 0) {
        retryAfter(reply, checked.lockedFor);
        return refuse(
          `${tooManyFailures(checked.lockedFor)} Your password was not changed.`,
          'current_password',
          429,
        );
      }
      return refuse(
        'Incorrect current password: your password was not changed.',
        'current_password',
        401,
      );
    }
    try {
      await setPassword(ctx, user, form.new_password ?? '', {
        by: 'self',
        ip: request.ip,
        device: originOf(request).device,
        keepSessionId: session.id,
      });
    } catch (error) {
      // The rule speaks of "password"; on this form that is the new one.
      const renamed =
        error instanceof ValidationError && error.field === 'password'
          ? new ValidationError(
              'new_password',
              error.message.replace(/^password /, 'new_password '),
            )
          : error;
      const shown = formErrorOf(renamed);
      if (!shown) throw error;
      return refuse(shown.error.message, 'new_password', shown.status);
    }
    return reply.redirect(`${ctx.config.issuerPath}/account?notice=password-changed`, 303);
  });
}
