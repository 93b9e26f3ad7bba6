import { type AppContext, nowSeconds } from '../context.js';
import { fold } from '../lib/fold.js';
import type { Role, User } from '../store/types.js';
import { recordChange } from './audit.js';
import { NotFoundError } from './errors.js';
import { endSessionsOfUser } from './sessions.js';
import { checkProfile, type ProfileInput } from './users.js';

/*
 * Changes to an existing account, each with its rules and side effects in one place, whichever
 * door it comes through (the account page, the admin API, the CLI). A new password is
 * setPassword's (password-change.ts).
 */

/** Who made a change, and from where, for the audit log. */
export interface ChangedBy {
  /** The person themselves (the account page), an admin (admin API), or a `tessera` command. */
  by: 'self' | 'admin' | 'cli';
  ip?: string | null;
}

/**
 * Edits a profile: fields left undefined stay as they are. A new e-mail address has not been
 * shown to belong to the person, so it is marked not verified; the same one in another case or
 * Unicode form keeps its mark. Recorded as `user.updated` with the names of the fields sent.
 *
 * @throws ValidationError, ConflictError('username' | 'email'), NotFoundError when the account is gone.
 */
export async function updateProfile(
  ctx: AppContext,
  user: User,
  input: ProfileInput,
  change: ChangedBy,
): Promise<User> {
  const patch = checkProfile(input);
  if (patch.email !== undefined && fold(patch.email) !== fold(user.email)) {
    patch.emailVerified = false;
  }
  const updated = await ctx.store.users.update(user.id, patch, nowSeconds(ctx));
  if (!updated) throw new NotFoundError('user');
  await recordChange(ctx, 'user.updated', { userId: user.id }, change, {
    fields: Object.keys(patch).filter((k) => k !== 'emailVerified'),
  });
  return updated;
}

/** Makes a person an admin or a user; recorded as `user.role_changed`. @throws NotFoundError */
export async function setRole(
  ctx: AppContext,
  userId: string,
  role: Role,
  change: ChangedBy,
): Promise<User> {
  const user = await ctx.store.users.update(userId, { role }, nowSeconds(ctx));
  if (!user) throw new NotFoundError('user');
  await recordChange(ctx, 'user.role_changed', { userId: user.id }, change, { role: user.role });
  return user;
}

/**
 * Deletes a person with everything of theirs. Their sessions end first, through endSession,
 * so that the apps signed in through them hear of it (back-channel logout); the store then
 * deletes the account with its grants, codes and tokens. Recorded as `user.deleted` (and the
 * sessions' end as `session.ended_all`).
 *
 * @throws NotFoundError when the account is already gone.
 */
export async function deleteUser(ctx: AppContext, user: User, change: ChangedBy): Promise<void> {
  await endSessionsOfUser(ctx, user.id, { ...change, reason: 'user-deleted' });
  if (!(await ctx.store.users.delete(user.id))) throw new NotFoundError('user');
  await recordChange(ctx, 'user.deleted', { userId: user.id }, change, { username: user.username });
}
