import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../../context.js';
import { sendVerification } from '../../domain/email-verification.js';
import { LIMITS, registerUser } from '../../domain/users.js';
import { checkCsrf } from '../../http/csrf.js';
import { currentUser } from '../../http/session.js';
import { errorPages, sendPage } from '../render.js';
import { recordAudit } from './audit.js';
import { queryParam, readForm } from './form.js';
import { originOf, rememberBrowser } from './known-browser.js';
import { withReturnTo } from './login.js';
import { type FormError, formErrorOf } from './messages.js';
import { holdSignIn } from './pending-sign-in.js';
import { returnToOrDefault, safeReturnTo } from './return-to.js';
import { startPasswordSession } from './start-session.js';
import { retryAfter, waitInWords } from './too-many.js';

const FIELDS = [
  'given_name',
  'family_name',
  'username',
  'phone_number',
  'email',
  'password',
  'return_to',
] as const;

/** What the form shows again after an error: everything typed except the password. */
type Typed = Partial<
  Record<'given_name' | 'family_name' | 'username' | 'phone_number' | 'email', string>
>;

async function showSignup(
  ctx: AppContext,
  request: FastifyRequest,
  reply: FastifyReply,
  view: { values: Typed; returnTo: string | undefined; error?: FormError },
  status = 200,
): Promise<FastifyReply> {
  const signedIn = await currentUser(ctx, request);
  return sendPage(
    ctx,
    request,
    reply,
    'signup',
    {
      title: 'Create an account',
      ...(signedIn ? { signedInAs: signedIn.user.username } : {}),
      values: view.values,
      returnTo: view.returnTo,
      error: view.error,
      loginUrl: withReturnTo(`${ctx.config.issuerPath}/login`, view.returnTo),
      limits: LIMITS,
      passwordMinLength: ctx.config.passwordMinLength,
    },
    status,
  );
}

/** With self sign-up off there is no such page: a 404, as for any unknown page. */
function signupOff(ctx: AppContext, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  return errorPages(ctx.config.issuerPath)(request, reply, 404, {
    error: 'not_found',
    error_description: 'There is no sign-up page here: accounts are created by an administrator.',
  });
}

/** GET /signup shows the form; POST /signup creates the account and signs the person in. */
export function registerSignup(app: FastifyInstance, ctx: AppContext): void {
  app.get('/signup', { config: { page: true } }, async (request, reply) => {
    if (!ctx.config.signupEnabled) return signupOff(ctx, request, reply);
    return showSignup(ctx, request, reply, {
      values: {},
      returnTo: safeReturnTo(queryParam(request, 'return_to')),
    });
  });

  app.post('/signup', { config: { page: true } }, async (request, reply) => {
    if (!ctx.config.signupEnabled) return signupOff(ctx, request, reply);
    checkCsrf(ctx, request);
    const form = readForm(request, FIELDS);
    const returnTo = safeReturnTo(form.return_to);
    const wait = await ctx.throttle.signUp(request.ip);
    if (wait > 0) {
      const { password: _never, return_to: _rt, ...typed } = form;
      const message = `Too many sign-ups from your network. Try again in ${waitInWords(wait)}.`;
      retryAfter(reply, wait);
      return showSignup(ctx, request, reply, { values: typed, returnTo, error: { message } }, 429);
    }
    let user: Awaited<ReturnType<typeof registerUser>>;
    try {
      user = await registerUser(ctx, {
        username: form.username ?? '',
        email: form.email ?? '',
        password: form.password ?? '',
        givenName: form.given_name ?? null,
        familyName: form.family_name ?? null,
        phoneNumber: form.phone_number ?? null,
        origin: { via: 'signup', ip: request.ip },
      });
    } catch (error) {
      const shown = formErrorOf(error);
      if (!shown) throw error;
      const { password: _never, return_to: _rt, ...typed } = form;
      return showSignup(
        ctx,
        request,
        reply,
        { values: typed, returnTo, error: shown.error },
        shown.status,
      );
    }
    // A code and a link to the new address; with TESSERA_REQUIRE_VERIFIED_EMAIL, the session
    // waits for them (/verify-email starts it).
    await sendVerification(ctx, user, user.email);
    if (ctx.config.requireVerifiedEmail) {
      holdSignIn(ctx, request, reply, {
        userId: user.id,
        amr: ['pwd'],
        ...(user.passwordHash ? { passwordHash: user.passwordHash } : {}),
        returnTo,
      });
      return reply.redirect(`${ctx.config.issuerPath}/verify-email`, 303);
    }
    // A new person: never the browser's current session, so a new one is always made.
    const session = await startPasswordSession(ctx, request, reply, user.id);
    // The first browser remembered: a sign-in from any other is then a new device.
    if (session) await rememberBrowser(ctx, request, reply, user);
    await recordAudit(ctx, request, 'user.login', user.id, {
      session_id: session?.id ?? null,
      amr: ['pwd'],
      via: 'signup',
      device: originOf(request).device,
    });
    return reply.redirect(`${ctx.config.issuerPath}${returnToOrDefault(returnTo)}`, 303);
  });
}
