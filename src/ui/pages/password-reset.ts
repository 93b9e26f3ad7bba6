import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../../context.js';
import { ValidationError } from '../../domain/errors.js';
import { PASSWORD_MAX } from '../../domain/password-policy.js';
import {
  findResetLink,
  RESET_LINK_SECONDS,
  requestPasswordReset,
  resetPassword,
} from '../../domain/password-reset.js';
import { LIMITS } from '../../domain/users.js';
import { checkCsrf } from '../../http/csrf.js';
import { browserName } from '../../lib/browser-name.js';
import { sendPage } from '../render.js';
import { queryParam, readForm } from './form.js';
import { type FormError, formErrorOf } from './messages.js';

const MINUTES = RESET_LINK_SECONDS / 60;

function showForgot(
  ctx: AppContext,
  request: FastifyRequest,
  reply: FastifyReply,
  view: { sent?: boolean; username?: string; error?: FormError },
  status = 200,
): FastifyReply {
  return sendPage(
    ctx,
    request,
    reply,
    'forgot-password',
    { title: 'Reset your password', minutes: MINUTES, limits: LIMITS, username: '', ...view },
    status,
  );
}

/** The one page for a link used, expired, unknown or malformed: it never says which. */
function showInvalid(ctx: AppContext, request: FastifyRequest, reply: FastifyReply) {
  return sendPage(
    ctx,
    request,
    reply,
    'reset-password',
    { title: 'Link no longer valid', invalid: true, minutes: MINUTES },
    410,
  );
}

function showReset(
  ctx: AppContext,
  request: FastifyRequest,
  reply: FastifyReply,
  view: { token: string; username: string; error?: FormError },
  status = 200,
): FastifyReply {
  // The token is in this page's URL: no Referer carries it to the stylesheet's host or beyond.
  reply.header('referrer-policy', 'no-referrer');
  return sendPage(
    ctx,
    request,
    reply,
    'reset-password',
    {
      title: 'Choose a new password',
      minLength: ctx.config.passwordMinLength,
      maxLength: PASSWORD_MAX,
      ...view,
    },
    status,
  );
}

/**
 * "Forgot password?": GET/POST /forgot-password asks for the account and mails a link, answering
 * the same page whether or not an account matches (domain/password-reset.ts keeps the time the
 * same too); GET /reset-password?token=… shows the form without spending the link, and POST
 * /reset-password sets the password, signs the person out everywhere and sends them to sign in.
 */
export function registerPasswordReset(app: FastifyInstance, ctx: AppContext): void {
  app.get('/forgot-password', { config: { page: true } }, async (request, reply) =>
    showForgot(ctx, request, reply, {}),
  );

  app.post('/forgot-password', { config: { page: true } }, async (request, reply) => {
    checkCsrf(ctx, request);
    const login = (readForm(request, ['username'] as const).username ?? '').trim();
    if (login === '') {
      const error = { message: 'Enter your username or email.', field: 'username' };
      return showForgot(ctx, request, reply, { error }, 400);
    }
    await requestPasswordReset(ctx, login, request.ip);
    return showForgot(ctx, request, reply, { sent: true });
  });

  app.get('/reset-password', { config: { page: true } }, async (request, reply) => {
    const token = queryParam(request, 'token');
    const found = await findResetLink(ctx, token);
    if (!found || token === undefined) return showInvalid(ctx, request, reply);
    return showReset(ctx, request, reply, { token, username: found.user.username });
  });

  app.post('/reset-password', { config: { page: true } }, async (request, reply) => {
    checkCsrf(ctx, request);
    const form = readForm(request, ['token', 'new_password', 'confirm_password'] as const);
    const found = await findResetLink(ctx, form.token);
    if (!found || form.token === undefined) return showInvalid(ctx, request, reply);
    const token = form.token;
    const again = (error: FormError) =>
      showReset(ctx, request, reply, { token, username: found.user.username, error }, 400);

    const password = form.new_password ?? '';
    if (password !== '' && password !== (form.confirm_password ?? '')) {
      return again({ message: 'The two passwords do not match.', field: 'confirm_password' });
    }
    const origin = { ip: request.ip, device: browserName(request.headers['user-agent'] ?? null) };
    try {
      if (!(await resetPassword(ctx, token, password, origin))) {
        return showInvalid(ctx, request, reply);
      }
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
      return again({ message: shown.error.message, field: 'new_password' });
    }
    return reply.redirect(`${ctx.config.issuerPath}/login?reset=1`, 303);
  });
}
