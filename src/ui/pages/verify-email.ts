import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../../context.js';
import {
  addressKeyOf,
  CODE_MINUTES,
  checkCode,
  findLink,
  spendLink,
} from '../../domain/email-codes.js';
import {
  addressToVerify,
  markVerified,
  sendVerification,
  takenByOther,
} from '../../domain/email-verification.js';
import { checkCsrf } from '../../http/csrf.js';
import { currentUser } from '../../http/session.js';
import { browserName } from '../../lib/browser-name.js';
import { ConflictError, type User } from '../../store/types.js';
import { sendPage } from '../render.js';
import { codeRefusal } from './code-refusal.js';
import { queryParam, readForm } from './form.js';
import { loginUrl } from './login.js';
import type { FormError } from './messages.js';
import { completePendingSignIn, type PendingSignIn, readPendingSignIn } from './pending-sign-in.js';
import { continueSignIn } from './sign-in-flow.js';
import { retryAfter, waitInWords } from './too-many.js';

/*
 * /verify-email: the code (or link) mailed on sign-up, on an e-mail change, and to a person whose
 * sign-in waits for a verified address (TESSERA_REQUIRE_VERIFIED_EMAIL). The link only shows a
 * form that posts its token: mail scanners that open links do not spend it.
 */

/** Who is verifying: a sign-in held for it (pending-sign-in.ts), or the signed-in person. */
interface Verifier {
  user: User;
  pending?: PendingSignIn;
}

async function verifierOf(ctx: AppContext, request: FastifyRequest): Promise<Verifier | undefined> {
  const pending = readPendingSignIn(ctx, request);
  if (pending) {
    const user = await ctx.store.users.findById(pending.userId);
    if (user) return { user, pending };
  }
  const signedIn = await currentUser(ctx, request);
  return signedIn ? { user: signedIn.user } : undefined;
}

interface View {
  state: 'code' | 'link' | 'done';
  address?: string;
  /** The address the account keeps until the new one is verified. */
  keeps?: string | undefined;
  token?: string;
  /** The account the address will belong to, named so that whoever holds the address sees it. */
  username?: string;
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
    'verify-email',
    {
      title: 'Verify your email',
      ...(signedIn ? { signedInAs: signedIn.user.username } : {}),
      minutes: CODE_MINUTES,
      ...view,
    },
    status,
  );
}

/** After a right code or link: the held sign-in goes on, or the page says it is done. */
async function verified(
  ctx: AppContext,
  request: FastifyRequest,
  reply: FastifyReply,
  user: User,
  pending: PendingSignIn | undefined,
): Promise<FastifyReply> {
  if (pending && pending.userId === user.id) {
    // Once: a copy of the cookie, replayed after this, starts no second session.
    if (!(await completePendingSignIn(ctx, reply, pending))) {
      return reply.redirect(`${ctx.config.issuerPath}/login?expired=1`, 303);
    }
    // On through the same steps as any sign-in: a second factor, if the person has one, is next.
    const next = await continueSignIn(ctx, request, reply, {
      user,
      amr: pending.amr,
      ...(pending.passwordHash ? { guard: { passwordHash: pending.passwordHash } } : {}),
      returnTo: pending.returnTo,
    });
    if (next) return next;
    return reply.redirect(loginUrl(ctx.config.issuerPath, pending.returnTo ?? '/account'), 303);
  }
  return show(ctx, request, reply, { state: 'done', address: user.email });
}

const origin = (request: FastifyRequest) => ({
  ip: request.ip,
  device: browserName(request.headers['user-agent'] ?? null),
});

/** With nothing to verify, the held sign-in goes on (or the signed-in person sees it is done). */
async function nothingToVerify(
  ctx: AppContext,
  request: FastifyRequest,
  reply: FastifyReply,
  who: Verifier,
): Promise<FastifyReply> {
  return verified(ctx, request, reply, who.user, who.pending);
}

const NO_LONGER_VALID =
  'This link is no longer valid: it has expired, was already used, or the address was changed since. Sign in and send yourself a new code.';

/** The answer when the address became another account's meanwhile: nothing was spent. */
const takenMessage = (address: string) =>
  `${address} is already the address of another account, so it cannot become yours. Use another address.`;

/** `user`'s address or pending address that `addressKey` is, or undefined when it is neither now. */
const stillVerifying = (user: User, addressKey: string): string | undefined =>
  [user.email, user.pendingEmail].find((a) => a !== null && addressKeyOf(a) === addressKey) ??
  undefined;

/**
 * Verifies by a link: checked before it is spent (still the account's address, not another
 * account's meanwhile), so that a refused link is not burnt; then spent once, for the account it
 * was sent for and no other.
 */
async function verifyByLink(
  ctx: AppContext,
  request: FastifyRequest,
  reply: FastifyReply,
  token: string,
): Promise<FastifyReply> {
  const invalid = () =>
    show(ctx, request, reply, { state: 'link', error: { message: NO_LONGER_VALID } }, 400);
  const wait = await ctx.throttle.emailCodeGuesses.verify(request.ip);
  if (wait > 0) {
    retryAfter(reply, wait);
    const message = `Too many codes were tried. Try again in ${waitInWords(wait)}.`;
    return show(ctx, request, reply, { state: 'link', token, error: { message } }, 429);
  }
  const found = await findLink(ctx, token);
  const user = found?.userId ? await ctx.store.users.findById(found.userId) : undefined;
  const address = found && user && stillVerifying(user, found.addressKey);
  if (!found || !user || !address) return invalid();
  const taken = () =>
    show(ctx, request, reply, { state: 'link', error: { message: takenMessage(address) } }, 409);
  if (await takenByOther(ctx, user, found.addressKey)) return taken();
  const spent = await spendLink(ctx, token);
  if (!spent || spent.id !== found.id) return invalid();
  let updated: User | undefined;
  try {
    updated = await markVerified(ctx, user, spent.addressKey, origin(request));
  } catch (error) {
    // Another account took the address between the check and the update.
    if (error instanceof ConflictError) return taken();
    throw error;
  }
  if (!updated) return invalid();
  return verified(ctx, request, reply, updated, readPendingSignIn(ctx, request));
}

export function registerVerifyEmail(app: FastifyInstance, ctx: AppContext): void {
  app.get('/verify-email', { config: { page: true } }, async (request, reply) => {
    const token = queryParam(request, 'token');
    if (token !== undefined) {
      // Names the account and address, spending nothing: mail scanners open links too.
      const found = await findLink(ctx, token);
      const user = found?.userId ? await ctx.store.users.findById(found.userId) : undefined;
      const address = found && user && stillVerifying(user, found.addressKey);
      return show(ctx, request, reply, {
        state: 'link',
        token,
        ...(user && address ? { username: user.username, address } : {}),
      });
    }
    const who = await verifierOf(ctx, request);
    if (!who) return reply.redirect(loginUrl(ctx.config.issuerPath, '/verify-email'), 303);
    const address = addressToVerify(who.user);
    if (!address) return nothingToVerify(ctx, request, reply, who);
    const keeps = who.user.pendingEmail ? who.user.email : undefined;
    return show(ctx, request, reply, {
      state: 'code',
      username: who.user.username,
      address,
      keeps,
    });
  });

  app.post('/verify-email', { config: { page: true } }, async (request, reply) => {
    checkCsrf(ctx, request);
    const form = readForm(request, ['code', 'token'] as const);
    if (form.token !== undefined) return verifyByLink(ctx, request, reply, form.token);
    const who = await verifierOf(ctx, request);
    if (!who) return reply.redirect(loginUrl(ctx.config.issuerPath, '/verify-email'), 303);
    const address = addressToVerify(who.user);
    if (!address) return nothingToVerify(ctx, request, reply, who);
    const key = addressKeyOf(address);
    const again = (message: string, status: number) =>
      show(
        ctx,
        request,
        reply,
        { state: 'code', username: who.user.username, address, error: { message, field: 'code' } },
        status,
      );
    // Before the code is tried: a taken address does not spend it.
    if (await takenByOther(ctx, who.user, key)) return again(takenMessage(address), 409);
    const typed = (form.code ?? '').slice(0, 32);
    const checked = await checkCode(ctx, 'verify_email', key, typed, {
      userId: who.user.id,
      ip: request.ip,
    });
    if (checked.status !== 'ok') {
      const { message, status } = codeRefusal(
        reply,
        checked,
        400,
        'There is no code waiting for this address. Send a new code.',
      );
      return again(message, status);
    }
    let updated: User | undefined;
    try {
      updated =
        checked.code.userId === who.user.id
          ? await markVerified(ctx, who.user, key, origin(request))
          : undefined;
    } catch (error) {
      if (error instanceof ConflictError) return again(takenMessage(address), 409);
      throw error;
    }
    if (!updated) return again('There is no code waiting for this address. Send a new code.', 400);
    return verified(ctx, request, reply, updated, who.pending);
  });

  app.post('/verify-email/resend', { config: { page: true } }, async (request, reply) => {
    checkCsrf(ctx, request);
    const who = await verifierOf(ctx, request);
    if (!who) return reply.redirect(loginUrl(ctx.config.issuerPath, '/verify-email'), 303);
    const address = addressToVerify(who.user);
    if (!address) return nothingToVerify(ctx, request, reply, who);
    const wait = await sendVerification(ctx, who.user, address, request.ip);
    if (wait > 0) {
      retryAfter(reply, wait);
      const message = `A code was sent a moment ago. You can send a new one in ${waitInWords(wait)}.`;
      return show(
        ctx,
        request,
        reply,
        { state: 'code', username: who.user.username, address, error: { message } },
        429,
      );
    }
    return show(ctx, request, reply, {
      state: 'code',
      username: who.user.username,
      address,
      notice: `We sent a new code to ${address}.`,
    });
  });
}
