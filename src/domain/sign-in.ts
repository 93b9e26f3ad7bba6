import { type AppContext, nowSeconds } from '../context.js';
import { sha256 } from '../lib/hash.js';
import type { User } from '../store/types.js';
import type { Failure } from './password-attempts.js';
import { hashParams, hashPassword, needsRehash, verifyPassword } from './passwords.js';
import { LIMITS } from './users.js';

/**
 * What a password check within the limits of domain/password-attempts.ts
 * came to. `lockedFor` is the seconds before the next attempt may be made
 * when the attempt was refused unchecked, or when this wrong password began a
 * lockout; 0 when the password was simply wrong.
 */
export type PasswordCheck = { ok: true; user: User } | { ok: false; lockedFor: number };

/** Where a password was asked for, as recorded with its failures. */
export type PasswordPurpose =
  | 'sign_in'
  | 'delete_account'
  | 'change_password'
  | 'turn_off_two_factor'
  | 'new_recovery_codes'
  | 'turn_on_two_factor'
  | 'add_passkey'
  | 'remove_passkey'
  | 'change_email';

/**
 * The key a password attempt is counted under: the account when the login
 * names one, so that "Alice", "alice" and her e-mail address count together;
 * otherwise the login as typed, case-folded and hashed (people type passwords
 * into the username field, and these keys go to Redis).
 */
function accountKey(login: string, user: User | undefined): string {
  return user ? `user:${user.id}` : `login:${sha256(login.trim().toLowerCase())}`;
}

/**
 * Signs in with a login (username or e-mail) and password, within the limits:
 * a refused attempt checks nothing, so it takes no time and says nothing
 * about the password, and the right password is refused too.
 */
export async function signInWithPassword(
  ctx: AppContext,
  login: string,
  password: string,
  ip: string,
): Promise<PasswordCheck> {
  const user =
    login.length <= LIMITS.email ? await ctx.store.users.findByLogin(login.trim()) : undefined;
  return checkWithinLimits(ctx, accountKey(login, user), user, password, ip, {
    purpose: 'sign_in',
    login: login.slice(0, LIMITS.email),
  });
}

/**
 * Checks the password of a signed-in person again (before a deletion, say),
 * within the same limits as sign-in: a stolen session must not become a way
 * to guess the password.
 */
export function confirmPassword(
  ctx: AppContext,
  user: User,
  password: string,
  ip: string,
  purpose: PasswordPurpose,
): Promise<PasswordCheck> {
  return checkWithinLimits(ctx, accountKey('', user), user, password, ip, { purpose });
}

async function checkWithinLimits(
  ctx: AppContext,
  key: string,
  user: User | undefined,
  password: string,
  ip: string,
  details: { purpose: PasswordPurpose; login?: string },
): Promise<PasswordCheck> {
  const attempt = await ctx.throttle.passwords.begin(key, ip);
  if ('refusedFor' in attempt) return { ok: false, lockedFor: attempt.refusedFor };
  const right =
    password.length <= LIMITS.password.max &&
    (await verifyPassword(user?.passwordHash, password, hashParams(ctx.config)));
  if (right && user) {
    await attempt.succeeded();
    return {
      ok: true,
      user: details.purpose === 'sign_in' ? await rehashed(ctx, user, password) : user,
    };
  }
  const failure = await attempt.failed();
  await recordFailure(ctx, user, ip, details, failure);
  return { ok: false, lockedFor: Math.max(0, ...failure.lockouts.map((l) => l.seconds)) };
}

/**
 * The person as stored once their password, just verified, is hashed with the configured argon2id
 * parameters if it was hashed with others (TESSERA_ARGON2_*). Only the hash verified is replaced
 * (users.replacePasswordHash): a password changed meanwhile wins, and the session then made is
 * guarded by the hash now stored. Not a password change: no session ends, nothing is mailed.
 */
async function rehashed(ctx: AppContext, user: User, password: string): Promise<User> {
  const params = hashParams(ctx.config);
  const verified = user.passwordHash;
  if (!verified || !needsRehash(verified, params)) return user;
  const passwordHash = await hashPassword(password, params);
  if (await ctx.store.users.replacePasswordHash(user.id, verified, passwordHash)) {
    return { ...user, passwordHash };
  }
  // Changed meanwhile. A concurrent sign-in's re-hash of this same password may guard the session;
  // a new password may not: the hash verified is kept as the guard, which then refuses it.
  const now = await ctx.store.users.findById(user.id);
  return now?.passwordHash && (await verifyPassword(now.passwordHash, password, params))
    ? now
    : user;
}

/**
 * Failed password checks are not each written down, or guessing would fill
 * the audit log: one `user.login_failed` event for the first failure on an
 * account in the window (for logins that name no account, the first from the
 * address, without what was typed: often a password in the wrong field), and
 * one `user.login_locked` for each lockout begun. The counters keep the rest.
 */
async function recordFailure(
  ctx: AppContext,
  user: User | undefined,
  ip: string,
  details: { purpose: PasswordPurpose; login?: string },
  failure: Failure,
): Promise<void> {
  const event = { userId: user?.id ?? null, clientId: null, ip, createdAt: nowSeconds(ctx) };
  const recorded = user ? details : { purpose: details.purpose };
  if (user ? failure.first : failure.firstFromAddress) {
    await ctx.store.audit.record({ ...event, type: 'user.login_failed', details: recorded });
  }
  for (const lockout of failure.lockouts) {
    await ctx.store.audit.record({
      ...event,
      type: 'user.login_locked',
      details: { ...recorded, ...lockout },
    });
  }
}
