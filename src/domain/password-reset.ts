import { type AppContext, nowSeconds } from '../context.js';
import { sha256 } from '../lib/hash.js';
import { randomToken } from '../lib/random.js';
import type { PasswordReset, User } from '../store/types.js';
import { checkPassword } from './password-policy.js';
import { hashParams, hashPassword } from './passwords.js';
import { type EventOrigin, recordSecurityEvent } from './security-events.js';
import { endSessionsOfUser } from './sessions.js';
import { LIMITS } from './users.js';

/** How long a reset link works: from the second it is made, up to (not including) 30 minutes on. */
export const RESET_LINK_SECONDS = 30 * 60;

/** The token of a link as randomToken() makes it: 32 bytes, base64url. */
const TOKEN = /^[A-Za-z0-9_-]{43}$/;

/**
 * "Forgot password?": mails a single-use link to the account `login` (username or e-mail)
 * names. The caller answers the same whatever happens here, and this takes the same time for an
 * account as for none: the lookup is the only work awaited; the limits
 * (TESSERA_PASSWORD_RESET_MAX_PER_*), the link's write and the mail run in the background.
 */
export async function requestPasswordReset(
  ctx: AppContext,
  login: string,
  ip: string,
): Promise<void> {
  const typed = login.trim();
  const user =
    typed !== '' && typed.length <= LIMITS.email
      ? await ctx.store.users.findByLogin(typed)
      : undefined;
  ctx.background.run('password reset', () => mailResetLink(ctx, user, ip));
}

async function mailResetLink(ctx: AppContext, user: User | undefined, ip: string): Promise<void> {
  if (!(await ctx.throttle.passwordReset(ip, user?.id)) || !user) return;
  const token = randomToken();
  const now = nowSeconds(ctx);
  // Only the newest link works: one mailed earlier, perhaps to someone reading over a shoulder,
  // ends here.
  await ctx.store.passwordResets.endAllOfUser(user.id, now);
  await ctx.store.passwordResets.save({
    tokenHash: sha256(token),
    userId: user.id,
    createdAt: now,
    expiresAt: now + RESET_LINK_SECONDS,
    usedAt: null,
  });
  await ctx.store.audit.record({
    type: 'user.password_reset_requested',
    userId: user.id,
    clientId: null,
    ip,
    details: null,
    createdAt: now,
  });
  ctx.mail.send(user.email, 'password-reset', {
    link: `${ctx.config.issuer}/reset-password?token=${token}`,
    minutes: RESET_LINK_SECONDS / 60,
  });
}

/** A link that still works, with its person; undefined for one used, expired, unknown or malformed. */
export async function findResetLink(
  ctx: AppContext,
  token: unknown,
): Promise<{ reset: PasswordReset; user: User } | undefined> {
  if (typeof token !== 'string' || !TOKEN.test(token)) return undefined;
  const reset = await ctx.store.passwordResets.findUsable(sha256(token), nowSeconds(ctx));
  const user = reset && (await ctx.store.users.findById(reset.userId));
  return reset && user ? { reset, user } : undefined;
}

/**
 * Sets a new password through a reset link. The password rule is checked before the link is
 * spent, so that a refused password leaves it working; then the link is spent (once, whoever
 * races), every other link of the person ends, the password is set, every session of the person
 * ends (the resetting browser signs in afresh, second factor and all), every refresh token of
 * theirs is revoked whatever the app, and the person is told (security notice `password_reset`).
 *
 * @returns false when the link no longer works.
 * @throws ValidationError (field "password") when the password rule refuses it.
 */
export async function resetPassword(
  ctx: AppContext,
  token: unknown,
  password: unknown,
  origin: EventOrigin,
): Promise<boolean> {
  const found = await findResetLink(ctx, token);
  if (!found) return false;
  const { user, reset } = found;
  const checked = await checkPassword(ctx, password, user);
  const passwordHash = await hashPassword(checked, hashParams(ctx.config));
  const now = nowSeconds(ctx);
  if (!(await ctx.store.passwordResets.consume(reset.tokenHash, now))) return false;
  await ctx.store.passwordResets.endAllOfUser(user.id, now);
  if (!(await ctx.store.users.update(user.id, { passwordHash }, now))) return false;
  const sessionsEnded = await endSessionsOfUser(ctx, user.id, {
    by: 'self',
    ip: origin.ip,
    reason: 'password-reset',
  });
  const refreshTokensRevoked = await ctx.store.tokens.revokeRefreshTokensOfUser(user.id, now);
  await recordSecurityEvent(ctx, user, 'password_reset', origin, {
    sessions_ended: sessionsEnded,
    refresh_tokens_revoked: refreshTokensRevoked,
  });
  return true;
}
