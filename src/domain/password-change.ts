import { type AppContext, nowSeconds } from '../context.js';
import type { User } from '../store/types.js';
import { NotFoundError } from './errors.js';
import { checkPassword } from './password-policy.js';
import { hashParams, hashPassword } from './passwords.js';
import { recordSecurityEvent } from './security-events.js';
import { endSessionsOfUser } from './sessions.js';
import type { ChangedBy } from './user-changes.js';

/** Who set a password, and from where, for the audit log. */
export interface PasswordChange extends ChangedBy {
  /** The session that made the change, which stays signed in; every other one ends. */
  keepSessionId?: string;
  /** The browser it came from ("Firefox on Linux"), for the notice; none from the API or CLI. */
  device?: string | null;
}

/**
 * Gives `user` a new password, which must pass the password rule, and ends their
 * sessions (all but `change.keepSessionId`) through `endSessionsOfUser`, so that
 * apps hear of it: whoever knew the old password is signed out. A security event, whoever
 * made the change: `security.password_changed` in the audit log (never the password) and a
 * notice mailed to the person; every reset link of the person ends (a reset by a mailed link is password-reset.ts's own). Checking the current password, when one is
 * asked for, is the caller's part.
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
  // A reset link mailed before the change must not undo it: every one of the person ends.
  await ctx.store.passwordResets.endAllOfUser(user.id, nowSeconds(ctx));
  const sessionsEnded = await endSessionsOfUser(
    ctx,
    user.id,
    { by: change.by, ip: change.ip ?? null, reason: 'password-changed' },
    change.keepSessionId,
  );
  await recordSecurityEvent(
    ctx,
    updated,
    'password_changed',
    { ip: change.ip ?? null, device: change.device ?? null },
    { by: change.by, sessions_ended: sessionsEnded },
  );
  return { user: updated, sessionsEnded };
}
