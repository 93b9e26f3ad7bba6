import { type AppContext, nowSeconds } from '../context.js';
import type { Grant } from '../store/types.js';
import type { ChangedBy } from './user-changes.js';

/** A person's grant to one app, named by its id or the app's; someone else's is as good as none. */
export async function findGrantOfUser(
  ctx: AppContext,
  userId: string,
  which: { grantId?: string | undefined; clientId?: string | undefined },
): Promise<Grant | undefined> {
  const grant = which.grantId
    ? await ctx.store.grants.findById(which.grantId)
    : which.clientId
      ? await ctx.store.grants.find(userId, which.clientId)
      : undefined;
  return grant?.userId === userId ? grant : undefined;
}

/**
 * Takes an app's access away: deletes the grant and revokes every code and token issued under
 * it, so the app must ask for consent again. Recorded as `grant.revoked`; false when the grant
 * was already gone.
 */
export async function revokeGrant(
  ctx: AppContext,
  grant: Grant,
  change: ChangedBy,
): Promise<boolean> {
  const now = nowSeconds(ctx);
  const revoked = await ctx.store.grants.revoke(grant.id, now);
  if (revoked) {
    await ctx.store.audit.record({
      type: 'grant.revoked',
      userId: grant.userId,
      clientId: grant.clientId,
      ip: change.ip ?? null,
      details: { client_id: grant.clientId, by: change.by },
      createdAt: now,
    });
  }
  return revoked;
}
