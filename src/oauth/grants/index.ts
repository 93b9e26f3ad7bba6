import type { Config } from '../../config.js';
import { authorizationCodeGrant } from './authorization-code.js';
import { clientCredentialsGrant } from './client-credentials.js';
import { refreshTokenGrant } from './refresh-token.js';
import { tokenExchangeGrant } from './token-exchange.js';
import type { Grant } from './types.js';

/** Every grant the token endpoint supports, by grant_type. A new grant is one more module here. */
export const GRANTS: ReadonlyMap<string, Grant> = new Map(
  [authorizationCodeGrant, refreshTokenGrant, clientCredentialsGrant, tokenExchangeGrant].map(
    (g) => [g.grantType, g],
  ),
);

/** The grants this configuration has on: the token endpoint serves and discovery names only these. */
export function enabledGrants(config: Config): ReadonlyMap<string, Grant> {
  return new Map([...GRANTS].filter(([, g]) => g.enabled?.(config) ?? true));
}
