import { type AppContext, nowSeconds } from '../context.js';
import type { Client, Grant } from '../store/types.js';
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

/** The claims a grant covers: those its scopes release and those consented to by name. */
export function coveredClaims(
  grant: Pick<Grant, 'scopes' | 'claims'>,
  releasedByScopes: (scopes: string[]) => ReadonlySet<string>,
): ReadonlySet<string> {
  const byScope = releasedByScopes(grant.scopes);
  return grant.claims.length === 0 ? byScope : new Set([...byScope, ...grant.claims]);
}

/**
 * Whether `client` is the organisation's own app, which skips the consent page: flagged
 * first-party, and registered by an admin. A client that registered itself (dynamic
 * registration, a metadata document) is never one, even if an admin set the flag on it later:
 * whoever registered it controls its code and redirect URIs, not the organisation.
 */
export function isFirstParty(client: Pick<Client, 'firstParty' | 'registration'>): boolean {
  return client.firstParty && client.registration === 'admin';
}

/** What a request asks of a grant: scopes, claims by name, and APIs (resources) by identifier. */
export interface Asked {
  scopes: readonly string[];
  claims: readonly string[];
  resources: readonly string[];
}

/**
 * Whether `grant` already covers the scopes, the claims asked for by name and the APIs asked
 * for: an API the person never allowed the app needs consent like a scope, even one with no
 * scopes of its own, since a token for it reaches that API.
 */
export function grantCovers(
  grant: Grant | undefined,
  asked: Asked,
  releasedByScopes: (scopes: string[]) => ReadonlySet<string>,
): boolean {
  if (!grant || !asked.scopes.every((s) => grant.scopes.includes(s))) return false;
  if (!asked.resources.every((r) => grant.resources.includes(r))) return false;
  if (asked.claims.length === 0) return true;
  const covered = coveredClaims(grant, releasedByScopes);
  return asked.claims.every((name) => covered.has(name));
}

/** A person's consent to an app, as grantConsent records it. */
export interface Consent extends Asked {
  userId: string;
  clientId: string;
  /** The grant as the caller read it, maybe from the sign-in cache; see grantConsent. */
  existing: Grant | undefined;
  releasedByScopes: (scopes: string[]) => ReadonlySet<string>;
}

/**
 * What a consent page listed as allowed before (scopes, claims, APIs), which its Allow does not
 * grant anew.
 */
export type ShownAsGranted = Asked;

export const NOTHING_SHOWN: ShownAsGranted = { scopes: [], claims: [], resources: [] };

/**
 * Records what a person allowed an app: the grant they had, widened by the scopes, claims and
 * APIs allowed now. Claims are remembered by name only where no granted scope releases them already
 * (`releasedByScopes` is the protocol's rule, handed in).
 *
 * `existing` is the grant as the caller read it, maybe from the sign-in cache
 * (store/sign-in-cache.ts): when it covers everything, nothing is written, which is safe because
 * grants only widen until they are deleted, and a code issued under a deleted grant is refused
 * at the token endpoint. Otherwise the grant is read again from the database, inside the write
 * (GrantStore.change), and never widened from a cached copy: another instance may have widened
 * or replaced it within the cache's lifetime, and merging into the stale copy would drop what it
 * wrote.
 */
export async function grantConsent(ctx: AppContext, consent: Consent): Promise<Grant> {
  // With nothing shown, the write gives up only when a revocation deleted the grant in the
  // middle of it; the next try creates it.
  for (let attempt = 1; ; attempt++) {
    const result = await grantConsentAsShown(ctx, consent, NOTHING_SHOWN);
    if ('grant' in result) return result.grant;
    if (attempt === 3) throw new Error('the grant kept being deleted while it was written');
  }
}

/**
 * grantConsent for a consent page's Allow: `shown` is what the page listed as allowed before,
 * which its Allow did not grant anew. When the grant no longer covers it (the person took the
 * app's access back while the page was open), nothing is written and the answer is
 * `{ changed }`, the grant as it is now, so that the person is asked again.
 */
export async function grantConsentAsShown(
  ctx: AppContext,
  consent: Consent,
  shown: ShownAsGranted,
): Promise<{ grant: Grant } | { changed: Grant | undefined }> {
  const { existing, releasedByScopes } = consent;
  const holds = (grant: Grant | undefined) =>
    (shown.scopes.length === 0 && shown.claims.length === 0 && shown.resources.length === 0) ||
    grantCovers(grant, shown, releasedByScopes);
  const covers = (grant: Grant | undefined) => grantCovers(grant, consent, releasedByScopes);
  if (existing && holds(existing) && covers(existing)) return { grant: existing };
  let changed = false;
  let before: Grant | undefined;
  const grant = await ctx.store.grants.change(
    consent.userId,
    consent.clientId,
    nowSeconds(ctx),
    (current) => {
      before = current;
      changed = !holds(current);
      if (changed || (current && covers(current))) return undefined;
      const scopes = [...new Set([...(current?.scopes ?? []), ...consent.scopes])];
      const byScope = releasedByScopes(scopes);
      const claims = [...new Set([...(current?.claims ?? []), ...consent.claims])].filter(
        (name) => !byScope.has(name),
      );
      // The store adds these to the APIs the grant holds, never dropping one.
      return { scopes, claims, resources: [...consent.resources] };
    },
  );
  if (changed || !grant) return { changed: before };
  return { grant };
}
