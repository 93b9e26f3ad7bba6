import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../../context.js';
import { checkSecondFactor } from '../../domain/totp.js';
import { secondFactorsOf } from '../../domain/two-factor.js';
import { checkCsrf } from '../../http/csrf.js';
import type { User } from '../../store/types.js';
import { sendPage } from '../render.js';
import { recordAudit } from './audit.js';
import { readForm } from './form.js';
import type { FormError } from './messages.js';
import {
  clearPendingSignIn,
  completePendingSignIn,
  type PendingSignIn,
  readPendingSignIn,
} from './pending-sign-in.js';
import { startSignedIn } from './sign-in-flow.js';
import { retryAfter, tooManyFailures } from './too-many.js';

/**
 * The methods (RFC 8176) a second factor adds to the first: an authenticator app's code is `otp`;
 * a recovery code is no one-time password of RFC 4226 or 6238, and RFC 8176 has no value for it,
 * so it adds only `mfa` (two factors were given).
 */
const ADDED = { totp: ['otp', 'mfa'], recovery: ['mfa'] } as const;

async function showSecondFactor(
  ctx: AppContext,
  request: FastifyRequest,
  reply: FastifyReply,
  user: User,
  error?: FormError,
  status = 200,
): Promise<FastifyReply> {
  const factors = await secondFactorsOf(ctx, user);
  return sendPage(
    ctx,
    request,
    reply,
    'second-factor',
    { title: 'Two-factor authentication', totp: factors.totp, passkeys: factors.passkeys, error },
    status,
  );
}

/** Back to the sign-in page: the pending sign-in is gone (expired, never begun, or its person). */
function startAgain(ctx: AppContext, reply: FastifyReply): FastifyReply {
  clearPendingSignIn(ctx, reply);
  return reply.redirect(`${ctx.config.issuerPath}/login?expired=1`, 303);
}

async function pendingOf(
  ctx: AppContext,
  request: FastifyRequest,
): Promise<{ pending: PendingSignIn; user: User } | undefined> {
  const pending = readPendingSignIn(ctx, request);
  const user = pending && (await ctx.store.users.findById(pending.userId));
  return pending && user ? { pending, user } : undefined;
}

/**
 * GET/POST /login/second-factor: the second step of the sign-in of a person with two-factor
 * authentication on, after the first factor held by pending-sign-in.ts. A code from their
 * authenticator app or one of their recovery codes, in one "Code" field, within the
 * second-factor limit; a passkey instead when they have one (passkeys.js drives it).
 */
export function registerSecondFactor(app: FastifyInstance, ctx: AppContext): void {
  app.get('/login/second-factor', { config: { page: true } }, async (request, reply) => {
    const found = await pendingOf(ctx, request);
    if (!found) return startAgain(ctx, reply);
    return showSecondFactor(ctx, request, reply, found.user);
  });

  app.post('/login/second-factor', { config: { page: true } }, async (request, reply) => {
    checkCsrf(ctx, request);
    const found = await pendingOf(ctx, request);
    if (!found) return startAgain(ctx, reply);
    const { pending, user } = found;
    const typed = (readForm(request, ['code'] as const).code ?? '').trim();
    if (typed === '' || typed.length > 64) {
      const message = 'Enter the 6-digit code from your authenticator app, or a recovery code.';
      return showSecondFactor(ctx, request, reply, user, { message, field: 'code' }, 400);
    }
    const checked = await checkSecondFactor(ctx, user, typed, { recovery: true });
    if (!checked.ok) {
      if (checked.lockedFor > 0) {
        retryAfter(reply, checked.lockedFor);
        if (checked.reason !== 'locked') {
          await recordAudit(ctx, request, 'user.second_factor_locked', user.id, {
            seconds: checked.lockedFor,
          });
        }
        const message = tooManyFailures(checked.lockedFor);
        return showSecondFactor(ctx, request, reply, user, { message, field: 'code' }, 429);
      }
      const message =
        checked.reason === 'reused'
          ? 'That code was used already. Wait for your app to show the next one.'
          : 'That code is not right. Type the code your app shows now, or a recovery code.';
      return showSecondFactor(ctx, request, reply, user, { message, field: 'code' }, 401);
    }
    // Once: a copy of the cookie, replayed after this, starts no second session.
    if (!(await completePendingSignIn(ctx, reply, pending))) return startAgain(ctx, reply);
    const amr = [...new Set([...pending.amr, ...ADDED[checked.kind]])];
    const started = await startSignedIn(ctx, request, reply, {
      user,
      amr,
      ...(pending.passwordHash ? { guard: { passwordHash: pending.passwordHash } } : {}),
      returnTo: pending.returnTo,
    });
    // The password checked first changed meanwhile: that sign-in no longer holds.
    return started ?? reply.redirect(`${ctx.config.issuerPath}/login?expired=1`, 303);
  });
}
