import type { Session } from '../store/types.js';

/**
 * Authentication context classes (OpenID Connect Core §2, `acr`): how strongly a person signed
 * in. A session records the methods used (`amr`, RFC 8176) and the class they reach.
 *
 * Tessera's classes are URNs of its own (Core §2 asks for an absolute URI or a registered name;
 * none of the registered ones means "a password"). A password is the only way to sign in today,
 * so `urn:tessera:acr:pwd` is the only class; a second factor will add a stronger class after it
 * in {@link ACR_VALUES} (`urn:tessera:acr:mfa`), and a session that reached it will satisfy a
 * request for either.
 */
export const ACR_PASSWORD = 'urn:tessera:acr:pwd';

/** The classes a sign-in can reach, weakest first; discovery's `acr_values_supported`. */
export const ACR_VALUES: readonly string[] = [ACR_PASSWORD];

/** The class a sign-in with these methods reaches; null for methods Tessera does not rank. */
export function acrForMethods(amr: readonly string[] | null): string | null {
  return amr?.includes('pwd') ? ACR_PASSWORD : null;
}

/** The class a session reached: as recorded, or from its methods for a session recorded without one. */
export function sessionAcr(session: Pick<Session, 'acr' | 'amr'>): string | null {
  return session.acr ?? acrForMethods(session.amr);
}

/** Whether a sign-in that reached `achieved` satisfies a request for `wanted` (at least as strong). */
export function satisfiesAcr(achieved: string | null, wanted: string): boolean {
  if (achieved === null) return false;
  const have = ACR_VALUES.indexOf(achieved);
  const want = ACR_VALUES.indexOf(wanted);
  return have !== -1 && want !== -1 && have >= want;
}
