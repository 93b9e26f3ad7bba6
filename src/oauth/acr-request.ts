import { ACR_VALUES, canonicalAcr } from '../domain/acr.js';
import { InvalidRequest, UnmetAuthenticationRequirements } from './errors.js';

/** What an authorization request asks of the sign-in's class (`acr`). */
export interface AcrRequest {
  /** The classes asked for that Tessera can reach (as URNs), in the request's order of preference. */
  values: string[];
  /** The same, as the client spelled them (a URN or its short name, `mfa`, `pwd`). */
  asked: string[];
  /** Asked as an Essential Claim: a sign-in that reaches none of them fails the request. */
  essential: boolean;
}

const MAX_VALUES = 20;

function listOf(claim: Record<string, unknown>): string[] {
  const { value, values } = claim;
  if (value !== undefined && typeof value !== 'string') {
    throw new InvalidRequest('claims.id_token.acr.value must be a string');
  }
  if (
    values !== undefined &&
    !(Array.isArray(values) && values.every((v) => typeof v === 'string'))
  ) {
    throw new InvalidRequest('claims.id_token.acr.values must be an array of strings');
  }
  return [...(value !== undefined ? [value] : []), ...((values as string[] | undefined) ?? [])];
}

/**
 * Reads `acr_values` (OpenID Connect Core §3.1.2.1) and the `claims` parameter's `id_token.acr`
 * (§5.5.1.1). Asked for as an Essential Claim with values, one of them must be reached: when
 * Tessera can reach none, no sign-in can help, and the request fails at once. Asked for
 * voluntarily (acr_values, or the claim without `essential`), classes Tessera cannot reach are
 * ignored; with none left the request goes on, and the ID token's `acr` says what the sign-in
 * reached. Undefined when the request asks nothing of the class.
 */
export function readAcrRequest(
  acrValues: string | undefined,
  claim: Record<string, unknown> | null | undefined,
): AcrRequest | undefined {
  const essential = claim?.essential === true;
  const claimed = claim && (essential || acrValues === undefined) ? listOf(claim) : [];
  const wanted = essential ? claimed : (acrValues?.split(' ').filter(Boolean) ?? claimed);
  if (wanted.length > MAX_VALUES) {
    throw new InvalidRequest(`acr_values names more than ${MAX_VALUES} classes`);
  }
  // The short names (`mfa`, `pwd`) are the URNs' aliases (domain/acr.ts).
  const asked = wanted.filter((value) => canonicalAcr(value) !== undefined);
  const values = asked.map((value) => canonicalAcr(value)!);
  if (essential && wanted.length > 0 && values.length === 0) {
    throw new UnmetAuthenticationRequirements(
      `none of the authentication context classes required (claims.id_token.acr) can be met: this server offers ${ACR_VALUES.join(', ')} (or mfa, pwd)`,
    );
  }
  return values.length > 0 ? { values, asked, essential } : undefined;
}
