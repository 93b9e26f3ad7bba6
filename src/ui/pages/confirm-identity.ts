import type { AppContext } from '../../context.js';
import { normaliseRecoveryCode } from '../../domain/recovery-codes.js';
import { confirmPassword, type PasswordPurpose } from '../../domain/sign-in.js';
import { checkSecondFactor, totpCodeOf } from '../../domain/totp.js';
import type { User } from '../../store/types.js';

/** What a "Password or code" field came to: `lockedFor` > 0 when a limit refused it (429). */
export type Confirmation = { ok: true } | { ok: false; lockedFor: number };

/**
 * Checks what a person typed in a "Password or code" field, before a change to their second
 * factor: a code from their authenticator app (six digits), one of their recovery codes (spent),
 * or their password. Six digits are only ever a code. What has a recovery code's shape is tried
 * as one and, when it is not, as the password (a ten-letter password may look like one). Codes
 * count towards the second-factor limit and passwords towards the password limits, as anywhere.
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
    const checked = await checkSecondFactor(ctx, user, typed, { recovery: true });
    if (checked.ok) return { ok: true };
    if (!looksLikeRecovery || !user.passwordHash || checked.lockedFor > 0) {
      return { ok: false, lockedFor: checked.lockedFor };
    }
  }
  const checked = await confirmPassword(ctx, user, typed, ip, purpose);
  return checked.ok ? { ok: true } : { ok: false, lockedFor: checked.lockedFor };
}
