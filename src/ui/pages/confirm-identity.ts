import type { FastifyReply } from 'fastify';
import { type AppContext, nowSeconds } from '../../context.js';
import { normaliseRecoveryCode } from '../../domain/recovery-codes.js';
import { confirmPassword, type PasswordPurpose } from '../../domain/sign-in.js';
import { checkSecondFactor, totpCodeOf } from '../../domain/totp.js';
import type { SignedIn } from '../../http/session.js';
import type { User } from '../../store/types.js';
import { retryAfter, tooManyFailures } from './too-many.js';

/** What a "Password or code" field came to: `lockedFor` > 0 when a limit refused it (429). */
export type Confirmation = { ok: true } | { ok: false; lockedFor: number };

/**
 * Checks what a person typed in a "Password or code" field, before a change to their sign-in
 * factors: a code from their authenticator app (six digits), one of their recovery codes (spent),
 * or their password. Six digits are only ever a code. What has a recovery code's shape is tried
 * as one and, when it is not, as the password (a ten-letter password may look like one): then
 * the wrong code is not counted when the password holds. Codes count towards the second-factor
 * limit and passwords towards the password limits, as anywhere.
 */
export async function confirmPasswordOrCode(
  ctx: AppContext,
  user: User,
  typed: string,
  ip: string,
  purpose: PasswordPurpose,
): Promise<Confirmation> {
  const looksLikeRecovery = normaliseRecoveryCode(typed) !== undefined;
  if (totpCodeOf(typed) || looksLikeRecovery) {
    let password: Confirmation | undefined;
    const otherwise =
      looksLikeRecovery && user.passwordHash
        ? async () => {
            const checked = await confirmPassword(ctx, user, typed, ip, purpose);
            password = checked.ok ? { ok: true } : { ok: false, lockedFor: checked.lockedFor };
            return checked.ok;
          }
        : undefined;
    const checked = await checkSecondFactor(ctx, user, typed, { recovery: true, otherwise });
    if (checked.ok) return { ok: true };
    if (password) return password;
    return { ok: false, lockedFor: checked.lockedFor };
  }
  const checked = await confirmPassword(ctx, user, typed, ip, purpose);
  return checked.ok ? { ok: true } : { ok: false, lockedFor: checked.lockedFor };
}

/**
 * Whether the session's sign-in is recent enough (TESSERA_REAUTH_SECONDS) to change sign-in
 * factors without the "Password or code" field: a stolen session cookie grows old, and then
 * is not enough to add the thief's passkey or authenticator app, nor to remove the owner's.
 */
export function recentlySignedIn(ctx: AppContext, signedIn: SignedIn): boolean {
  return nowSeconds(ctx) - signedIn.session.authTime < ctx.config.reauthSeconds;
}

/** What re-authentication came to, with the words for the person when it failed. */
export type Reauthentication =
  | { ok: true }
  | { ok: false; status: 401 | 429; message: string; lockedFor: number };

/**
 * Re-authentication before a change of sign-in factors: a recent sign-in, or else the
 * "Password or code" field (`typed`). `what` ends the message of a refusal ("Nothing changed.").
 */
export async function reauthenticate(
  ctx: AppContext,
  signedIn: SignedIn,
  typed: string | undefined,
  ip: string,
  purpose: PasswordPurpose,
  what: string,
): Promise<Reauthentication> {
  if (recentlySignedIn(ctx, signedIn)) return { ok: true };
  if (!typed) {
    const message = `Enter your password or a code to confirm it is you. ${what}`;
    return { ok: false, status: 401, message, lockedFor: 0 };
  }
  return checkConfirmation(ctx, signedIn.user, typed, ip, purpose, what);
}

/**
 * The "Password or code" field checked (confirmPasswordOrCode), with the words for a refusal:
 * `what` ends them ("Nothing changed."). For the changes that always ask, however recent the
 * sign-in; reauthenticate() for those a recent sign-in allows.
 */
export async function checkConfirmation(
  ctx: AppContext,
  user: User,
  typed: string,
  ip: string,
  purpose: PasswordPurpose,
  what: string,
): Promise<Reauthentication> {
  const checked = await confirmPasswordOrCode(ctx, user, typed, ip, purpose);
  if (checked.ok) return { ok: true };
  if (checked.lockedFor > 0) {
    const message = `${tooManyFailures(checked.lockedFor)} ${what}`;
    return { ok: false, status: 429, message, lockedFor: checked.lockedFor };
  }
  const message = `That password or code is not right. ${what}`;
  return { ok: false, status: 401, message, lockedFor: 0 };
}

/** Sets Retry-After on a refusal that a limit made. */
export function reauthRetryAfter(reply: FastifyReply, refused: { lockedFor: number }): void {
  if (refused.lockedFor > 0) retryAfter(reply, refused.lockedFor);
}
