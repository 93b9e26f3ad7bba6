import type { Client } from '../../store/types.js';
import { readAcrRequest } from '../acr-request.js';
import { releasedClaimNames } from '../claims.js';
import { claimNames, limitClaimsRequest, parseClaimsParameter } from '../claims-request.js';
import { InvalidRequest } from '../errors.js';
import { param, type RawParams } from '../params.js';
import type { AuthorizationRequest } from './request.js';

export const PROMPTS = ['none', 'login', 'consent', 'select_account'] as const;

/**
 * What the request asks of the sign-in and of the ID token (OpenID Connect Core §3.1.2.1, §5.5):
 * prompt, max_age (or the client's default_max_age), the class of sign-in (acr), and claims asked
 * for by name.
 */
export function checkSignInParameters(
  client: Client,
  params: RawParams,
): Pick<AuthorizationRequest, 'prompt' | 'maxAge' | 'acr' | 'claims' | 'claimNames'> {
  const prompt = new Set((param(params, 'prompt') ?? '').split(' ').filter(Boolean));
  for (const value of prompt) {
    if (!(PROMPTS as readonly string[]).includes(value))
      throw new InvalidRequest(`prompt "${value}" is not supported`);
  }
  if (prompt.has('none') && prompt.size > 1)
    throw new InvalidRequest('prompt=none cannot be combined with other values');

  const maxAgeText = param(params, 'max_age');
  let maxAge: number | undefined;
  if (maxAgeText !== undefined) {
    if (!/^\d{1,10}$/.test(maxAgeText))
      throw new InvalidRequest('max_age must be a non-negative whole number of seconds');
    maxAge = Number(maxAgeText);
  } else if (client.defaultMaxAge !== null) {
    maxAge = client.defaultMaxAge;
  }

  const claimsText = param(params, 'claims');
  const asked = claimsText === undefined ? undefined : parseClaimsParameter(claimsText);
  const acr = readAcrRequest(param(params, 'acr_values'), asked?.id_token?.acr);
  // Asking for a claim by name gets no more than the client's scopes could release.
  const claims = asked && limitClaimsRequest(asked, releasedClaimNames(client.scopes));

  return {
    prompt,
    maxAge,
    acr,
    claims: claims && JSON.stringify(claims),
    claimNames: claimNames(claims),
  };
}
