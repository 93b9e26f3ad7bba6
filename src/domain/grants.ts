import { type AppContext, nowSeconds } from '../context.js';
import type { Grant } from '../store/types.js';
import { recordChange } from './audit.js';
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
    await recordChange(
      ctx,
      'grant.revoked',
      { userId: grant.userId, clientId: grant.clientId },
      change,
      { client_id: grant.clientId },
    );
  }
  return revoked;
}

/**
 * Records what a person allowed an app: the grant they had, widened by the scopes and claims
 * allowed now. Claims are remembered by name only where no granted scope releases them already
 * (`releasedByScopes` is the protocol's rule, handed in). Writes nothing when nothing is new.
 */
export async function grantConsent(
  ctx: AppContext,
  consent: {
    userId: string;
    clientId: string;
    scopes: readonly string[];
    claims: readonly string[];
    existing: Grant | undefined;
    releasedByScopes: (scopes: string[]) => ReadonlySet<string>;
  },
): Promise<Grant> {
  const { existing } = consent;
  const scopes = [...new Set([...(existing?.scopes ?? []), ...consent.scopes])];
  const byScope = consent.releasedByScopes(scopes);
  const claims = [...new Set([...(existing?.claims ?? []), ...consent.claims])].filter(
    (name) => !byScope.has(name),
  );
  const unchanged =
    existing &&
    scopes.length === existing.scopes.length &&
    claims.length === existing.claims.length &&
    claims.every((name) => existing.claims.includes(name));
  if (unchanged) return existing;
  return ctx.store.grants.upsert(consent.userId, consent.clientId, scopes, nowSeconds(ctx), claims);
}
