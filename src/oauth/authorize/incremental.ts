/**
 * Incremental authorization: a client that has a person's grant asks later for more (scopes,
 * claims, or APIs named with `resource`). The consent page asks only for what is new and lists
 * what was allowed before (planConsent), and with
 * include_granted_scopes=true the code carries both (scopesToIssue), as Google's parameter does.
 */

import { coveredClaims } from '../../domain/grants.js';
import type { Grant } from '../../store/types.js';
import { releasedClaimNames } from '../claims.js';
import { type AuthorizationRequest, requestedResources } from './request.js';

/** What the consent page asks now, and what it lists as allowed before. */
export interface ConsentPlan {
  /** Scopes asked for that the grant does not have: the page's question. */
  newScopes: string[];
  /** Claims asked for by name, beyond the scopes asked for, that the grant does not cover. */
  newClaims: string[];
  /**
   * Scopes the grant has that the code will carry: asked for again, or, with
   * include_granted_scopes=true, carried along. Listed as allowed before, not asked.
   */
  grantedScopes: string[];
  /** Claims asked for by name, beyond the scopes asked for, that the grant covers already. */
  grantedClaims: string[];
  /** The APIs named with `resource` (identifiers) that the grant holds already; the others are new. */
  grantedResources: string[];
}

/** The claims asked for by name that the requested scopes do not already release. */
export function claimsBeyondScopes(request: AuthorizationRequest): string[] {
  if (request.claimNames.length === 0) return [];
  const byScope = releasedClaimNames(request.scopes);
  return request.claimNames.filter((name) => !byScope.has(name));
}

/**
 * The scopes of `grant` the client may still ask for today (its own and its APIs'): one whose
 * allowed scopes were narrowed since does not get the others back.
 */
function stillAllowed(request: AuthorizationRequest, grant: Grant | undefined): string[] {
  return (grant?.scopes ?? []).filter((s) => request.allowedScopes.includes(s));
}

export function planConsent(request: AuthorizationRequest, grant: Grant | undefined): ConsentPlan {
  const had = stillAllowed(request, grant);
  const carried = request.includeGrantedScopes
    ? had.filter((s) => !request.scopes.includes(s))
    : [];
  const claims = claimsBeyondScopes(request);
  const covered = grant ? coveredClaims(grant, releasedClaimNames) : new Set<string>();
  return {
    newScopes: request.scopes.filter((s) => !had.includes(s)),
    newClaims: claims.filter((name) => !covered.has(name)),
    grantedScopes: [...request.scopes.filter((s) => had.includes(s)), ...carried],
    grantedClaims: claims.filter((name) => covered.has(name)),
    grantedResources: requestedResources(request).filter((r) => grant?.resources.includes(r)),
  };
}

/**
 * The scopes the code and its tokens carry: those asked for; with include_granted_scopes=true,
 * also those of the person's grant (as stored, so never one asked for before and declined) that
 * the client may still ask for. `grant` is the grant of this very person, just widened by what
 * was allowed now.
 */
export function scopesToIssue(request: AuthorizationRequest, grant: Grant): string[] {
  if (!request.includeGrantedScopes) return request.scopes;
  const had = stillAllowed(request, grant);
  return [...had, ...request.scopes.filter((s) => !had.includes(s))];
}
