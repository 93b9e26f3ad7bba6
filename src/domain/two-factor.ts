import type { AppContext } from '../context.js';
import type { User } from '../store/types.js';

/** The second factors a person has set up. */
export interface SecondFactors {
  /** An authenticator app (RFC 6238), confirmed by a first code. */
  totp: boolean;
  /** Passkeys registered (WebAuthn): each can serve as the second factor. */
  passkeys: number;
}

// TODO: helper "totp" reads the TOTP enrolment.
export async function secondFactorsOf(ctx: AppContext, user: User): Promise<SecondFactors> {
  return { totp: false, passkeys: await ctx.store.passkeys.countForUser(user.id) };
}

/** Whether a sign-in must give a second factor after its first (two-factor is on). */
export function needsSecondFactor(factors: SecondFactors): boolean {
  return factors.totp || factors.passkeys > 0;
}
