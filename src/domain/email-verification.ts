import { type AppContext, nowSeconds } from '../context.js';
import { fold } from '../lib/fold.js';
import { ConflictError, type User } from '../store/types.js';
import { addressKeyOf, CODE_MINUTES, issueCode } from './email-codes.js';
import { NotFoundError } from './errors.js';
import { type EventOrigin, recordSecurityEvent } from './security-events.js';
import { checkEmail } from './users.js';

/*
 * E-mail verification: a code and a link mailed to a new account's address, or to the new
 * address a person asked for (kept in `pendingEmail` until verified). `emailVerified` is set
 * here, by the code API (which proves the address the same way), or by an admin.
 */

/** The address `user` is verifying: the new one they asked for, or their own while unverified. */
export function addressToVerify(user: User): string | undefined {
  return user.pendingEmail ?? (user.emailVerified ? undefined : user.email);
}

/**
 * Mails a verification code and link to `address` (an account's own, or its pending one).
 * 0 when sent, or the seconds to wait under the resend limits.
 */
export async function sendVerification(
  ctx: AppContext,
  user: User,
  address: string,
  ip?: string,
): Promise<number> {
  const issued = await issueCode(ctx, 'verify_email', addressKeyOf(address), user.id, {
    link: true,
    ...(ip === undefined ? {} : { ip }),
  });
  if ('wait' in issued) return issued.wait;
  ctx.mail.send(address, 'verify-email', {
    // Named in the mail: whoever holds the address sees which account it would belong to.
    username: user.username,
    code: issued.code,
    link: `${ctx.config.issuer}/verify-email?token=${issued.linkToken}`,
    minutes: CODE_MINUTES,
  });
  return 0;
}

/**
 * A person asks to change their address: it waits in `pendingEmail`, the account keeps the old
 * one (for sign-in, claims and mail), and the new one gets a verification mail. The same address
 * as now (in any case or form) cancels a pending change instead.
 *
 * @param ip the client address, counted against the codes it may ask for (email-code-guesses.ts).
 * @returns the account, and 0 or the seconds before a verification mail may be sent again.
 * @throws ValidationError, ConflictError('email') when another account has the address.
 */
export async function requestEmailChange(
  ctx: AppContext,
  user: User,
  input: string,
  ip?: string,
): Promise<{ user: User; wait: number }> {
  const email = checkEmail(input);
  if (fold(email) === fold(user.email)) {
    if (user.pendingEmail === null) return { user, wait: 0 };
    const updated = await ctx.store.users.update(user.id, { pendingEmail: null }, nowSeconds(ctx));
    if (!updated) throw new NotFoundError('user');
    return { user: updated, wait: 0 };
  }
  const holder = await ctx.store.users.findByLogin(email);
  if (holder && holder.id !== user.id) throw new ConflictError('email');
  const updated = await ctx.store.users.update(user.id, { pendingEmail: email }, nowSeconds(ctx));
  if (!updated) throw new NotFoundError('user');
  return { user: updated, wait: await sendVerification(ctx, updated, email, ip) };
}

/**
 * Marks the address `addressKey` verified on `user`'s account, after a right code or link: their
 * own address becomes verified; their pending address becomes their address (verified), with an
 * `email_changed` notice mailed to the old one. Undefined when the address is neither any more
 * (changed again since the code was sent).
 *
 * @throws ConflictError('email') when another account took the pending address meanwhile.
 */
export async function markVerified(
  ctx: AppContext,
  user: User,
  addressKey: string,
  origin: EventOrigin,
): Promise<User | undefined> {
  const now = nowSeconds(ctx);
  if (fold(user.email) === addressKey) {
    if (user.emailVerified) return user;
    const updated = await ctx.store.users.update(user.id, { emailVerified: true }, now);
    if (updated) await ctx.store.users.dropPendingEmail(updated.email, user.id, now);
    return updated;
  }
  if (user.pendingEmail === null || fold(user.pendingEmail) !== addressKey) return undefined;
  const updated = await ctx.store.users.update(
    user.id,
    { email: user.pendingEmail, emailVerified: true, pendingEmail: null },
    now,
  );
  if (!updated) return undefined;
  // The address is this account's now: whoever else waited for it waits no more, and their
  // codes and links stop working (markVerified finds it pending on their account no longer).
  await ctx.store.users.dropPendingEmail(updated.email, user.id, now);
  // A reset link mailed to the old address must not outlive the change of address.
  await ctx.store.passwordResets.endAllOfUser(user.id, now);
  // The notice goes to the old address: whoever holds it should hear that it is no longer theirs.
  await recordSecurityEvent(ctx, user, 'email_changed', origin);
  return updated;
}

/**
 * Whether `addressKey`, which `user` is verifying, is some other account's address already: then
 * a code or link for it must be refused before it is spent (it stays usable should the address
 * be freed), with a clear answer rather than a failed update.
 */
export async function takenByOther(
  ctx: AppContext,
  user: User,
  addressKey: string,
): Promise<boolean> {
  const holder = await ctx.store.users.findByLogin(addressKey);
  return holder !== undefined && holder.id !== user.id && fold(holder.email) === addressKey;
}

/**
 * The account whose address (verified or not) is `email`, for the one-time code API. Never an
 * account that only waits for it as its pending address: several may wait for one address, and
 * a pending address is verified on /verify-email by the account that asked for it.
 */
export async function accountOfAddress(ctx: AppContext, email: string): Promise<User | undefined> {
  const user = await ctx.store.users.findByLogin(email);
  return user && fold(user.email) === addressKeyOf(email) ? user : undefined;
}
