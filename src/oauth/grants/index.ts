import { authorizationCodeGrant } from './authorization-code.js';
import { clientCredentialsGrant } from './client-credentials.js';
import { jwtBearerGrant } from './jwt-bearer.js';
import { refreshTokenGrant } from './refresh-token.js';
import type { Grant } from './types.js';

/** Every grant the token endpoint supports, by grant_type. A new grant is one more module here. */
export const GRANTS: ReadonlyMap<string, Grant> = new Map(
  [authorizationCodeGrant, refreshTokenGrant, clientCredentialsGrant, jwtBearerGrant].map((g) => [
    g.grantType,
    g,
  ]),
);
