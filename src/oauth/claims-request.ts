import { InvalidRequest } from './errors.js';

/**
 * The `claims` request parameter (OpenID Connect Core §5.5): claims asked for
 * by name, for the ID token and for /userinfo. Asking by name must not widen
 * what a client gets: the names are limited to the claims its allowed scopes
 * release, shown on the consent page, and covered by the person's grant.
 */

export type ClaimsTarget = 'userinfo' | 'id_token';
const TARGETS: readonly ClaimsTarget[] = ['userinfo', 'id_token'];

/** One claim's request: null, or `essential`, `value` and `values` (§5.5.1). */
type ClaimRequest = Record<string, unknown> | null;
export type ClaimsRequest = Partial<Record<ClaimsTarget, Record<string, ClaimRequest>>>;

const MAX_NAMES = 100;
const MAX_NAME_LENGTH = 100;

/** Parses and checks the parameter's shape; @throws InvalidRequest naming what is wrong. */
export function parseClaimsParameter(text: string): ClaimsRequest {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new InvalidRequest('claims must be a JSON object');
  }
  if (!isObject(parsed)) throw new InvalidRequest('claims must be a JSON object');
  const out: ClaimsRequest = {};
  // Members other than userinfo and id_token are not understood, so they are ignored (§5.5).
  for (const target of TARGETS) {
    const section = parsed[target];
    if (section === undefined || section === null) continue;
    if (!isObject(section)) throw new InvalidRequest(`claims.${target} must be a JSON object`);
    const names = Object.keys(section);
    if (names.length > MAX_NAMES)
      throw new InvalidRequest(`claims.${target} asks for more than ${MAX_NAMES} claims`);
    const requests: Record<string, ClaimRequest> = {};
    for (const name of names) {
      const request = section[name];
      if (name.length > MAX_NAME_LENGTH)
        throw new InvalidRequest(`claims.${target} has a claim name that is too long`);
      if (request !== null && !isObject(request)) {
        throw new InvalidRequest(`claims.${target}.${name} must be null or a JSON object`);
      }
      requests[name] = request;
    }
    out[target] = requests;
  }
  return out;
}

/**
 * The request with only the claims in `allowed` (those the client's scopes can release; others
 * are dropped, as for any claim a provider does not return, §5.5), or undefined when none is left.
 */
export function limitClaimsRequest(
  request: ClaimsRequest,
  allowed: ReadonlySet<string>,
): ClaimsRequest | undefined {
  const out: ClaimsRequest = {};
  for (const target of TARGETS) {
    const section = request[target];
    if (!section) continue;
    const kept = Object.entries(section).filter(([name]) => allowed.has(name));
    if (kept.length > 0) out[target] = Object.fromEntries(kept);
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/** Every claim name asked for, for either target. */
export function claimNames(request: ClaimsRequest | undefined): string[] {
  if (!request) return [];
  return [...new Set(TARGETS.flatMap((target) => Object.keys(request[target] ?? {})))];
}

/** Claim names asked for one target, from the parameter as stored with a code or token. */
export function requestedClaimNames(
  stored: string | null | undefined,
  target: ClaimsTarget,
): string[] {
  if (!stored) return [];
  try {
    const section = (JSON.parse(stored) as ClaimsRequest)[target];
    return isObject(section) ? Object.keys(section) : [];
  } catch {
    return [];
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
