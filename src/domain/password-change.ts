import { type AppContext, nowSeconds } from '../context.js';
import type { User } from '../store/types.js';
import { NotFoundError } from './errors.js';
import { checkPassword } from './password-policy.js';
import { hashParams, hashPassword } from './passwords.js';
import { endSessionsOfUser } from './sessions.js';
import type { ChangedBy } from './user-changes.js';

/** Who set a password, and from where, for the audit log. */
export interface PasswordChange extends ChangedBy {
  /** The session that made the change, which stays signed in; every other one ends. */
  keepSessionId?: string;
}

/**
 * Gives `user` a new password, which must pass the password rule, and ends their
 * sessions (all but `change.keepSessionId`) through `endSessionsOfUser`, so that
 * apps hear of it: whoever knew the old password is signed out. Recorded in the audit
 * log as `user.password_changed` (never the password). Checking the current password,
 * when one is asked for, is the caller's part.
 *
 * @throws ValidationError (field "password"), NotFoundError when the account is gone.
 */
export async function setPassword(
  ctx: AppContext,
  user: User,
  password: unknown,
  change: PasswordChange,
): Promise<{ user: User; sessionsEnded: number }> {
  const checked = await checkPassword(ctx, password, user);
  const passwordHash = await hashPassword(checked, hashParams(ctx.config));
  const updated = await ctx.store.users.update(user.id, { passwordHash }, nowSeconds(ctx));
  if (!updated) throw new NotFoundError('user');
  const sessionsEnded = await endSessionsOfUser(
    ctx,
    user.id,
    { by: change.by, ip: change.ip ?? null, reason: 'password-changed' },
    change.keepSessionId,
  );
  await ctx.store.audit.record({
    type: 'user.password_changed',
    userId: user.id,
    clientId: null,
    ip: change.ip ?? null,
    details: { by: change.by, sessions_ended: sessionsEnded },
    createdAt: nowSeconds(ctx),
  });
  return { user: updated, sessionsEnded };
}
