import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../../context.js';
import { signInWithPassword } from '../../domain/sign-in.js';
import { LIMITS } from '../../domain/users.js';
import { checkCsrf } from '../../http/csrf.js';
import { currentUser } from '../../http/session.js';
import { sendPage } from '../render.js';
import { queryParam, readForm } from './form.js';
import type { FormError } from './messages.js';
import { safeReturnTo } from './return-to.js';
import { continueSignIn } from './sign-in-flow.js';
import { retryAfter, tooManyFailures } from './too-many.js';

/** The one message for every failed sign-in: it never tells which of the two was wrong. */
export const LOGIN_FAILED = 'Incorrect username/email or password';

/** `?return_to=` with "/" left readable: it is allowed in a query (RFC 3986 §3.4). */
export function withReturnTo(path: string, returnTo: string | undefined): string {
  if (returnTo === undefined) return path;
  return `${path}?return_to=${encodeURIComponent(returnTo).replace(/%2F/g, '/')}`;
}

/**
 * The sign-in page's URL that brings the person back to `returnTo` afterwards (a path under the
 * issuer's, `base`); a `returnTo` that is not a safe path is dropped (they land on /account).
 *
 * @example loginUrl('/tenant-a', '/authorize?client_id=abc') // '/tenant-a/login?return_to=/authorize%3Fclient_id%3Dabc'
 */
export function loginUrl(base: string, returnTo: string): string {
  return withReturnTo(`${base}/login`, safeReturnTo(returnTo));
}

interface LoginView {
  username?: string | undefined;
  returnTo?: string | undefined;
  error?: FormError;
  notice?: string;
}

async function showLogin(
  ctx: AppContext,
  request: FastifyRequest,
  reply: FastifyReply,
  view: LoginView,
  status = 200,
): Promise<FastifyReply> {
  const signedIn = await currentUser(ctx, request);
  return sendPage(
    ctx,
    request,
    reply,
    'login',
    {
      title: 'Sign in',
      ...(signedIn ? { signedInAs: signedIn.user.username } : {}),
      username: view.username ?? '',
      returnTo: view.returnTo,
      error: view.error,
      notice: view.notice,
      codeUrl: withReturnTo(`${ctx.config.issuerPath}/login/code`, view.returnTo),
      signupUrl: ctx.config.signupEnabled
        ? withReturnTo(`${ctx.config.issuerPath}/signup`, view.returnTo)
        : undefined,
      limits: LIMITS,
    },
    status,
  );
}

/** GET /login shows the form; POST /login checks the password and starts a session. */
export function registerLogin(app: FastifyInstance, ctx: AppContext): void {
  app.get('/login', { config: { page: true } }, async (request, reply) => {
    const hint = queryParam(request, 'login_hint');
    return showLogin(ctx, request, reply, {
      username: hint && hint.length <= LIMITS.email ? hint : undefined,
      returnTo: safeReturnTo(queryParam(request, 'return_to')),
      ...(queryParam(request, 'deleted') === '1'
        ? { notice: 'Your account has been deleted.' }
        : {}),
      ...(queryParam(request, 'reset') === '1'
        ? {
            notice:
              'Your password has been reset. Sign in with your new password. Your passkeys and authenticator app still sign you in: check them on your account page.',
          }
        : {}),
      // From /login/second-factor, when the sign-in it was finishing is gone.
      ...(queryParam(request, 'expired') === '1'
        ? { notice: 'Your sign-in was not finished in time. Sign in again.' }
        : {}),
    });
  });

  app.post('/login', { config: { page: true } }, async (request, reply) => {
    checkCsrf(ctx, request);
    const form = readForm(request, ['username', 'password', 'return_to'] as const);
    const login = (form.username ?? '').trim();
    const password = form.password ?? '';
    const returnTo = safeReturnTo(form.return_to);
    const keep = { username: login.slice(0, LIMITS.email), returnTo };

    if (login === '' || password === '') {
      const field = login === '' ? 'username' : 'password';
      return showLogin(
        ctx,
        request,
        reply,
        { ...keep, error: { message: 'Enter your username or email and your password.', field } },
        400,
      );
    }

    // Within the sign-in limits, which also write the audit events of failures.
    const checked = await signInWithPassword(ctx, login, password, request.ip);
    if (!checked.ok) {
      if (checked.lockedFor === 0) {
        return showLogin(ctx, request, reply, { ...keep, error: { message: LOGIN_FAILED } }, 401);
      }
      const message = tooManyFailures(checked.lockedFor);
      retryAfter(reply, checked.lockedFor);
      return showLogin(ctx, request, reply, { ...keep, error: { message } }, 429);
    }
    const { user } = checked;

    // Only while the password just checked is still theirs: a change made meanwhile wins.
    const next = user.passwordHash
      ? await continueSignIn(ctx, request, reply, {
          user,
          amr: ['pwd'],
          guard: { passwordHash: user.passwordHash },
          returnTo,
        })
      : undefined;
    return (
      next ?? showLogin(ctx, request, reply, { ...keep, error: { message: LOGIN_FAILED } }, 401)
    );
  });
}
