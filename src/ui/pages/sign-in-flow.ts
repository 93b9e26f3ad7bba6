import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../../context.js';
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
    holdSignIn(ctx, reply, {
      userId: factor.user.id,
      amr: factor.amr,
      ...(factor.guard ? { passwordHash: factor.guard.passwordHash } : {}),
      returnTo: factor.returnTo,
    });
    return reply.redirect(`${ctx.config.issuerPath}/login/second-factor`, 303);
  }
  return startSignedIn(ctx, request, reply, factor);
}

/** Starts the session of a sign-in whose every step is done, and goes back where it started. */
export async function startSignedIn(
  ctx: AppContext,
  request: FastifyRequest,
  reply: FastifyReply,
  factor: FirstFactor,
): Promise<FastifyReply | undefined> {
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
