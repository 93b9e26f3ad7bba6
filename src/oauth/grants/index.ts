import type { Config } from '../../config.js';
import { authorizationCodeGrant } from './authorization-code.js';
import { clientCredentialsGrant } from './client-credentials.js';
import { deviceCodeGrant } from './device-code.js';
import { jwtBearerGrant } from './jwt-bearer.js';
import { refreshTokenGrant } from './refresh-token.js';
import { tokenExchangeGrant } from './token-exchange.js';
import type { Grant } from './types.js';

/** Every grant the token endpoint supports, by grant_type. A new grant is one more module here. */
export const GRANTS: ReadonlyMap<string, Grant> = new Map(
  [
    authorizationCodeGrant,
    refreshTokenGrant,
    clientCredentialsGrant,
    tokenExchangeGrant,
    deviceCodeGrant,
    jwtBearerGrant,
  ].map((g) => [g.grantType, g]),
);

/** The grant for `grantType`, if the server offers it with this configuration. */
export function offeredGrant(config: Config, grantType: string): Grant | undefined {
  const grant = GRANTS.get(grantType);
  return grant && (grant.enabled?.(config) ?? true) ? grant : undefined;
}

/** The grant types the server offers with this configuration, for discovery. */
export const offeredGrantTypes = (config: Config): string[] =>
  [...GRANTS.values()].filter((g) => g.enabled?.(config) ?? true).map((g) => g.grantType);
