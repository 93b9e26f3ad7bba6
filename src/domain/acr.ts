import type { Session } from '../store/types.js';

/**
 * Authentication context classes (OpenID Connect Core §2, `acr`): how strongly a person signed
 * in. A session records the methods used (`amr`, RFC 8176) and the class they reach.
 *
 * Tessera's classes are URNs of its own (Core §2 asks for an absolute URI or a registered name;
 * none of the registered ones means "a password", and short names such as `mfa` are `amr`
 * values, not classes). Two classes, weakest first in {@link ACR_VALUES}; a session that reached
 * the stronger one satisfies a request for either:
 *
 * - `urn:tessera:acr:pwd`: one factor. A password, an e-mailed one-time code, or a passkey
 *   without user verification, alone. The name keeps the class's first meaning (a password was
 *   the only way to sign in).
 * - `urn:tessera:acr:mfa`: two factors (`amr` holds `mfa`): a first factor and a second (an
 *   authenticator app's code, a recovery code, a passkey), or a passkey that verified its user.
 */
export const ACR_PASSWORD = 'urn:tessera:acr:pwd';
export const ACR_MFA = 'urn:tessera:acr:mfa';

/** The classes a sign-in can reach, weakest first. */
export const ACR_VALUES: readonly string[] = [ACR_PASSWORD, ACR_MFA];

/**
 * Short names clients may ask for instead of the URNs (`acr_values=mfa`): the same classes.
 * An ID token answers in the client's own spelling of the class reached (OpenID Connect Core
 * §5.5.1.1: the `acr` returned is one of the values asked for), so discovery lists them too.
 */
export const ACR_ALIASES: Readonly<Record<string, string>> = { pwd: ACR_PASSWORD, mfa: ACR_MFA };

/** Discovery's `acr_values_supported`: the classes, then their short names. */
export const ACR_VALUES_SUPPORTED: readonly string[] = [...ACR_VALUES, ...Object.keys(ACR_ALIASES)];

/** The class a value names: a URN as it is, a short name as its URN; undefined for others. */
export function canonicalAcr(value: string): string | undefined {
  if (ACR_VALUES.includes(value)) return value;
  return Object.hasOwn(ACR_ALIASES, value) ? ACR_ALIASES[value] : undefined;
}

/** The single factors (RFC 8176) that reach the one-factor class on their own. */
const ONE_FACTOR = ['pwd', 'otp', 'hwk', 'swk'];

/** The class a sign-in with these methods reaches; null for methods Tessera does not rank. */
export function acrForMethods(amr: readonly string[] | null): string | null {
  if (!amr) return null;
  if (amr.includes('mfa')) return ACR_MFA;
  return amr.some((method) => ONE_FACTOR.includes(method)) ? ACR_PASSWORD : null;
}

/** The strongest class a person can reach: with a second factor set up, two factors. */
export function reachableAcr(hasSecondFactor: boolean): string {
  return hasSecondFactor ? ACR_MFA : ACR_PASSWORD;
}

/** The class a session reached: as recorded, or from its methods for a session recorded without one. */
export function sessionAcr(session: Pick<Session, 'acr' | 'amr'>): string | null {
  return session.acr ?? acrForMethods(session.amr);
}

/** Whether a sign-in that reached `achieved` satisfies a request for `wanted` (at least as strong). */
export function satisfiesAcr(achieved: string | null, wanted: string): boolean {
  if (achieved === null) return false;
  const have = ACR_VALUES.indexOf(canonicalAcr(achieved) ?? '');
  const want = ACR_VALUES.indexOf(canonicalAcr(wanted) ?? '');
  return have !== -1 && want !== -1 && have >= want;
}

/**
 * The `acr` to put in an ID token for a sign-in that reached `achieved`: the client's short name
 * for that class when it asked with one (`asked`, as sent), else the class's URN.
 */
export function acrAsAsked(
  achieved: string | null,
  asked: readonly string[] | undefined,
): string | null {
  if (achieved === null || !asked) return achieved;
  const alias = asked.find((value) => value !== achieved && canonicalAcr(value) === achieved);
  return alias ?? achieved;
}
