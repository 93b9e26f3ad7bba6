import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../../context.js';
import type { EventOrigin } from '../../domain/security-events.js';
import {
  beginEnrolment,
  confirmEnrolment,
  type Enrolment,
  regenerateRecoveryCodes,
  reopenEnrolment,
  turnOffTotp,
} from '../../domain/totp.js';
import { checkCsrf } from '../../http/csrf.js';
import type { SignedIn } from '../../http/session.js';
import { browserName } from '../../lib/browser-name.js';
import { sendPage } from '../render.js';
import { showAccount } from './account.js';
import {
  checkConfirmation,
  reauthenticate,
  reauthRetryAfter,
  recentlySignedIn,
} from './confirm-identity.js';
import { readForm } from './form.js';
import type { FormError } from './messages.js';
import { qrSvg } from './qr-code.js';
import { requireSignIn } from './require-sign-in.js';
import { retryAfter, tooManyFailures } from './too-many.js';

/** Where a change came from, for the security notice. */
function originOf(request: FastifyRequest): EventOrigin {
  return { ip: request.ip, device: browserName(request.headers['user-agent'] ?? null) };
}

/** The secret in groups of four, as people copy it into an app by hand. */
const grouped = (secret: string): string => secret.match(/.{1,4}/g)?.join(' ') ?? secret;

async function showSetup(
  ctx: AppContext,
  request: FastifyRequest,
  reply: FastifyReply,
  signedIn: SignedIn,
  enrolment: Enrolment,
  error?: FormError,
  status = 200,
): Promise<FastifyReply> {
  return sendPage(
    ctx,
    request,
    reply,
    'two-factor-setup',
    {
      title: 'Set up an authenticator app',
      signedInAs: signedIn.user.username,
      qr: await qrSvg(enrolment.uri, 'QR code for your authenticator app'),
      secret: grouped(enrolment.secret),
      uri: enrolment.uri,
      enrolment: enrolment.sealed,
      reauthNeeded: !recentlySignedIn(ctx, signedIn),
      error,
    },
    status,
  );
}

function showRecoveryCodes(
  ctx: AppContext,
  request: FastifyRequest,
  reply: FastifyReply,
  signedIn: SignedIn,
  codes: string[],
  first: boolean,
): FastifyReply {
  return sendPage(ctx, request, reply, 'recovery-codes', {
    title: 'Save these recovery codes',
    signedInAs: signedIn.user.username,
    codes,
    first,
  });
}

/** The form message of a "Password or code" field that was refused, and its status. */
/**
 * Two-factor authentication with an authenticator app (TOTP, RFC 6238), from the account page:
 * GET/POST /account/two-factor sets it up (a QR code and the secret, confirmed by a first code;
 * the recovery codes are shown once), POST /account/two-factor/recovery-codes replaces the
 * recovery codes and POST /account/two-factor/disable turns it off, both after the password or
 * a code. The secret of a set-up in progress travels sealed in the form, never in a URL.
 */
export function registerAccountTwoFactor(app: FastifyInstance, ctx: AppContext): void {
  const accountUrl = (notice?: string) =>
    `${ctx.config.issuerPath}/account${notice ? `?notice=${notice}` : ''}`;

  app.get('/account/two-factor', { config: { page: true } }, async (request, reply) => {
    const signedIn = await requireSignIn(ctx, request, reply, '/account/two-factor');
    if (!signedIn) return reply;
    if (await ctx.store.totp.find(signedIn.user.id)) {
      return reply.redirect(accountUrl('two-factor-on'), 303);
    }
    return showSetup(ctx, request, reply, signedIn, beginEnrolment(ctx, signedIn.user));
  });

  app.post('/account/two-factor', { config: { page: true } }, async (request, reply) => {
    checkCsrf(ctx, request);
    const signedIn = await requireSignIn(ctx, request, reply, '/account/two-factor');
    if (!signedIn) return reply;
    const { user } = signedIn;
    const form = readForm(request, ['enrolment', 'code', 'confirmation'] as const);
    const enrolment = reopenEnrolment(ctx, user, form.enrolment);
    if (!enrolment) {
      const message = 'This set-up expired. Add this new key to your app instead.';
      return showSetup(ctx, request, reply, signedIn, beginEnrolment(ctx, user), { message }, 400);
    }
    // A session alone (maybe stolen) must not put the thief's app between the owner and sign-in.
    const reauth = await reauthenticate(
      ctx,
      signedIn,
      form.confirmation,
      request.ip,
      'turn_on_two_factor',
      'Two-factor authentication is still off.',
    );
    if (!reauth.ok) {
      reauthRetryAfter(reply, reauth);
      const error = { message: reauth.message, field: 'confirmation' };
      return showSetup(ctx, request, reply, signedIn, enrolment, error, reauth.status);
    }
    const code = (form.code ?? '').trim();
    if (code === '') {
      const message = 'Enter the 6-digit code your app shows.';
      return showSetup(ctx, request, reply, signedIn, enrolment, { message, field: 'code' }, 400);
    }
    const result = await confirmEnrolment(ctx, user, enrolment, code, originOf(request));
    if (result.ok)
      return showRecoveryCodes(ctx, request, reply, signedIn, result.recoveryCodes, true);
    if (result.reason === 'already_on') return reply.redirect(accountUrl('two-factor-on'), 303);
    if (result.lockedFor > 0) {
      retryAfter(reply, result.lockedFor);
      const message = `${tooManyFailures(result.lockedFor)} Two-factor authentication is still off.`;
      return showSetup(ctx, request, reply, signedIn, enrolment, { message, field: 'code' }, 429);
    }
    const message =
      'That code is not right. Type the code your app shows now (check that your phone’s clock is right).';
    return showSetup(ctx, request, reply, signedIn, enrolment, { message, field: 'code' }, 401);
  });

  app.post(
    '/account/two-factor/recovery-codes',
    { config: { page: true } },
    async (request, reply) => {
      checkCsrf(ctx, request);
      const signedIn = await requireSignIn(ctx, request, reply, '/account');
      if (!signedIn) return reply;
      const { user } = signedIn;
      if (!(await ctx.store.totp.find(user.id))) return reply.redirect(accountUrl(), 303);
      const { confirmation } = readForm(request, ['confirmation'] as const);
      const show = (message: string, status: number) =>
        showAccount(
          ctx,
          request,
          reply,
          signedIn,
          { recoveryCodesError: { message, field: 'confirmation' } },
          status,
        );
      if (!confirmation)
        return show('Enter your password or a code to get new recovery codes.', 400);
      const checked = await checkConfirmation(
        ctx,
        user,
        confirmation,
        request.ip,
        'new_recovery_codes',
        'Your recovery codes were not changed.',
      );
      if (!checked.ok) {
        reauthRetryAfter(reply, checked);
        return show(checked.message, checked.status);
      }
      const codes = await regenerateRecoveryCodes(ctx, user, originOf(request));
      return showRecoveryCodes(ctx, request, reply, signedIn, codes, false);
    },
  );

  app.post('/account/two-factor/disable', { config: { page: true } }, async (request, reply) => {
    checkCsrf(ctx, request);
    const signedIn = await requireSignIn(ctx, request, reply, '/account');
    if (!signedIn) return reply;
    const { user } = signedIn;
    if (!(await ctx.store.totp.find(user.id))) return reply.redirect(accountUrl(), 303);
    const { confirmation } = readForm(request, ['confirmation'] as const);
    const show = (message: string, status: number) =>
      showAccount(
        ctx,
        request,
        reply,
        signedIn,
        { totpOffError: { message, field: 'confirmation' } },
        status,
      );
    if (!confirmation) {
      return show('Enter your password or a code to turn off two-factor authentication.', 400);
    }
    const checked = await checkConfirmation(
      ctx,
      user,
      confirmation,
      request.ip,
      'turn_off_two_factor',
      'Two-factor authentication is still on.',
    );
    if (!checked.ok) {
      reauthRetryAfter(reply, checked);
      return show(checked.message, checked.status);
    }
    await turnOffTotp(ctx, user, originOf(request));
    return reply.redirect(accountUrl('two-factor-off'), 303);
  });
}
