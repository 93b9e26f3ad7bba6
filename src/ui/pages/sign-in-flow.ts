import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../../context.js';
import { addressToVerify, sendVerification } from '../../domain/email-verification.js';
import { needsSecondFactor, secondFactorsOf } from '../../domain/two-factor.js';
import { signIn } from '../../http/session.js';
import type { SessionGuard, User } from '../../store/types.js';
import { recordAudit } from './audit.js';
import { originOf, rememberBrowser } from './known-browser.js';
import { holdSignIn } from './pending-sign-in.js';
import { returnToOrDefault } from './return-to.js';

/** A first factor just checked: who, how (RFC 8176 `amr` values), and where to go afterwards. */
export interface FirstFactor {
  user: User;
  /** e.g. ['pwd'], ['otp'] (an e-mailed code), ['hwk', 'mfa'] (a passkey with user verification). */
  amr: string[];
  /** Only while the password just checked is still theirs (password sign-ins). */
  guard?: SessionGuard;
  returnTo: string | undefined;
}

/**
 * What follows a first factor, in one place for every way of signing in (password, e-mailed
 * code, passkey): the second factor when the person has one, e-mail verification when the
 * settings require it, then the session and the way back. Undefined when the session could not
 * be started (the password changed while it was being checked): the caller says sign-in failed.
 */
export async function continueSignIn(
  ctx: AppContext,
  request: FastifyRequest,
  reply: FastifyReply,
  factor: FirstFactor,
): Promise<FastifyReply | undefined> {
  // A first factor that is not already multi-factor (a passkey with user verification is)
  // waits for the second one, on /login/second-factor.
  if (!factor.amr.includes('mfa') && needsSecondFactor(await secondFactorsOf(ctx, factor.user))) {
    holdSignIn(ctx, request, reply, {
      userId: factor.user.id,
      amr: factor.amr,
      ...(factor.guard ? { passwordHash: factor.guard.passwordHash } : {}),
      returnTo: factor.returnTo,
    });
    return reply.redirect(`${ctx.config.issuerPath}/login/second-factor`, 303);
  }
  return startSignedIn(ctx, request, reply, factor);
}

/**
 * Starts the session of a sign-in whose every step is done, and goes back where it started; with
 * TESSERA_REQUIRE_VERIFIED_EMAIL, an unverified address is the one step left, taken first.
 */
export async function startSignedIn(
  ctx: AppContext,
  request: FastifyRequest,
  reply: FastifyReply,
  factor: FirstFactor,
): Promise<FastifyReply | undefined> {
  // TESSERA_REQUIRE_VERIFIED_EMAIL: an unverified address is verified first, on /verify-email,
  // which comes back through continueSignIn once it is. Checked here, at the last step, so that
  // every way to a session (first factor, second factor) passes it.
  if (ctx.config.requireVerifiedEmail && !factor.user.emailVerified) {
    holdSignIn(ctx, request, reply, {
      userId: factor.user.id,
      amr: factor.amr,
      ...(factor.guard ? { passwordHash: factor.guard.passwordHash } : {}),
      returnTo: factor.returnTo,
    });
    // A code on its way, to the address the page asks about; within a minute of the last one,
    // that one (still valid) is the code.
    await sendVerification(ctx, factor.user, addressToVerify(factor.user) ?? factor.user.email);
    return reply.redirect(`${ctx.config.issuerPath}/verify-email`, 303);
  }
  const session = await signIn(
    ctx,
    request,
    reply,
    { userId: factor.user.id, amr: factor.amr },
    factor.guard,
  );
  if (!session) return undefined;
  // Before the sign-in's own audit event: the account page (newest first) lists the sign-in,
  // then the new device it came from.
  await rememberBrowser(ctx, request, reply, factor.user);
  await recordAudit(ctx, request, 'user.login', factor.user.id, {
    session_id: session.id,
    amr: factor.amr,
    device: originOf(request).device,
  });
  return reply.redirect(`${ctx.config.issuerPath}${returnToOrDefault(factor.returnTo)}`, 303);
}
