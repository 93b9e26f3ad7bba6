import { type AppContext, nowSeconds } from '../context.js';
import type { User } from '../store/types.js';
import { reachableAcr } from './acr.js';
import { type EventOrigin, recordSecurityEvent } from './security-events.js';

/** The second factors a person has set up. */
export interface SecondFactors {
  /** An authenticator app (RFC 6238), confirmed by a first code. */
  totp: boolean;
  /** Passkeys registered (WebAuthn): each can serve as the second factor. */
  passkeys: number;
}

export async function secondFactorsOf(ctx: AppContext, user: User): Promise<SecondFactors> {
  const [totp, passkeys] = await Promise.all([
    ctx.store.totp.find(user.id),
    ctx.store.passkeys.countForUser(user.id),
  ]);
  return { totp: totp !== undefined, passkeys };
}

/** Whether a sign-in must give a second factor after its first (two-factor is on). */
export function needsSecondFactor(factors: SecondFactors): boolean {
  return factors.totp || factors.passkeys > 0;
}

/**
 * The strongest authentication context class (domain/acr.ts) `userId` can reach by signing in:
 * two factors once they have set up a second one.
 */
export async function reachableAcrOf(ctx: AppContext, userId: string): Promise<string> {
  const user = await ctx.store.users.findById(userId);
  return reachableAcr(user !== undefined && needsSecondFactor(await secondFactorsOf(ctx, user)));
}

/**
 * Keeps the person's `two_factor` flag (the claim, the admin API, the account page) true to
 * their second factors: call it after adding or removing one. When the flag changes, the change
 * is recorded and mailed as `two_factor_enabled` or `two_factor_disabled`. Returns the flag.
 */
export async function refreshTwoFactor(
  ctx: AppContext,
  user: User,
  origin: EventOrigin,
): Promise<boolean> {
  const current = (await ctx.store.users.findById(user.id)) ?? user;
  const on = needsSecondFactor(await secondFactorsOf(ctx, current));
  if (on === current.twoFactor) return on;
  await ctx.store.users.update(user.id, { twoFactor: on }, nowSeconds(ctx));
  await recordSecurityEvent(
    ctx,
    current,
    on ? 'two_factor_enabled' : 'two_factor_disabled',
    origin,
  );
  return on;
}
