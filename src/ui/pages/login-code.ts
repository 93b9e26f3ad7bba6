import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../../context.js';
import { addressKeyOf, CODE_MINUTES, checkCode, issueCode } from '../../domain/email-codes.js';
import { markVerified } from '../../domain/email-verification.js';
import { ValidationError } from '../../domain/errors.js';
import { checkEmail, LIMITS } from '../../domain/users.js';
import { checkCsrf } from '../../http/csrf.js';
import { currentUser } from '../../http/session.js';
import { browserName } from '../../lib/browser-name.js';
import { fold } from '../../lib/fold.js';
import { sendPage } from '../render.js';
import { codeRefusal } from './code-refusal.js';
import { queryParam, readForm } from './form.js';
import { withReturnTo } from './login.js';
import type { FormError } from './messages.js';
import { safeReturnTo } from './return-to.js';
import { continueSignIn } from './sign-in-flow.js';
import { retryAfter, waitInWords } from './too-many.js';

/*
 * "E-mail me a code": a first factor (`amr` otp) for people who would rather not type a
 * password. The answer is the same whether or not the address has an account; a wrong code
 * counts toward the code's five tries.
 */

interface View {
  step: 'email' | 'code';
  email: string;
  returnTo: string | undefined;
  error?: FormError;
  notice?: string;
}

async function show(
  ctx: AppContext,
  request: FastifyRequest,
  reply: FastifyReply,
  view: View,
  status = 200,
): Promise<FastifyReply> {
  const signedIn = await currentUser(ctx, request);
  return sendPage(
    ctx,
    request,
    reply,
    'login-code',
    {
      title: 'Sign in with a code',
      ...(signedIn ? { signedInAs: signedIn.user.username } : {}),
      ...view,
      minutes: CODE_MINUTES,
      limits: LIMITS,
      loginUrl: withReturnTo(`${ctx.config.issuerPath}/login`, view.returnTo),
    },
    status,
  );
}

/** The address as typed, checked; a form error when it is not one. */
function addressOf(typed: string | undefined): string | FormError {
  try {
    return checkEmail(typed ?? '');
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    return { message: 'Enter the email address of your account.', field: 'email' };
  }
}

export function registerLoginCode(app: FastifyInstance, ctx: AppContext): void {
  app.get('/login/code', { config: { page: true } }, async (request, reply) =>
    show(ctx, request, reply, {
      step: 'email',
      email: '',
      returnTo: safeReturnTo(queryParam(request, 'return_to')),
    }),
  );

  app.post('/login/code', { config: { page: true } }, async (request, reply) => {
    checkCsrf(ctx, request);
    const form = readForm(request, ['email', 'return_to'] as const);
    const returnTo = safeReturnTo(form.return_to);
    const email = addressOf(form.email);
    if (typeof email !== 'string') {
      const typed = (form.email ?? '').slice(0, LIMITS.email);
      return show(
        ctx,
        request,
        reply,
        { step: 'email', email: typed, returnTo, error: email },
        400,
      );
    }
    const key = addressKeyOf(email);
    // An account's own address only: a new address waiting to be verified signs nobody in.
    const found = await ctx.store.users.findByLogin(email);
    const user = found && fold(found.email) === key ? found : undefined;
    // A code is stored either way, so an address without an account takes the same work.
    const issued = await issueCode(ctx, 'sign_in', key, user?.id ?? null, { ip: request.ip });
    if ('wait' in issued) {
      retryAfter(reply, issued.wait);
      const message = issued.byClient
        ? `Too many codes were asked for. Try again in ${waitInWords(issued.wait)}.`
        : `A code was sent to this address a moment ago. You can send a new one in ${waitInWords(issued.wait)}.`;
      return show(ctx, request, reply, { step: 'code', email, returnTo, error: { message } }, 429);
    }
    if (user) ctx.mail.send(email, 'sign-in-code', { code: issued.code, minutes: CODE_MINUTES });
    return show(ctx, request, reply, { step: 'code', email, returnTo });
  });

  app.post('/login/code/verify', { config: { page: true } }, async (request, reply) => {
    checkCsrf(ctx, request);
    const form = readForm(request, ['email', 'code', 'return_to'] as const);
    const returnTo = safeReturnTo(form.return_to);
    const email = addressOf(form.email);
    if (typeof email !== 'string') {
      return show(ctx, request, reply, { step: 'email', email: '', returnTo, error: email }, 400);
    }
    const key = addressKeyOf(email);
    const again = (message: string, status: number) =>
      show(
        ctx,
        request,
        reply,
        { step: 'code', email, returnTo, error: { message, field: 'code' } },
        status,
      );
    const checked = await checkCode(ctx, 'sign_in', key, (form.code ?? '').slice(0, 32), {
      ip: request.ip,
    });
    if (checked.status !== 'ok') {
      const { message, status } = codeRefusal(
        reply,
        checked,
        401,
        'That code is not right, or was already used. Send a new code.',
      );
      return again(message, status);
    }
    const user = checked.code.userId
      ? await ctx.store.users.findById(checked.code.userId)
      : undefined;
    // The code reached the address, so the address is the person's: it is verified too.
    const signedIn =
      user &&
      (await markVerified(ctx, user, key, {
        ip: request.ip,
        device: browserName(request.headers['user-agent'] ?? null),
      }));
    if (!signedIn)
      return again('That code is not right, or was already used. Send a new code.', 401);
    const next = await continueSignIn(ctx, request, reply, {
      user: signedIn,
      amr: ['otp'],
      returnTo,
    });
    return next ?? again('Sign-in failed. Send a new code.', 401);
  });
}
