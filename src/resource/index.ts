/**
 * `tessera/resource`: the resource-server kit. An API or an MCP server checks Tessera's access
 * tokens with it (JWTs locally against the JWKS, opaque ones by introspection), requires scopes
 * per route, answers RFC 6750 / RFC 9728 challenges and serves its protected resource metadata.
 *
 * @example
 * ```ts
 * import { bearerAuth, metadataHandler, tesseraResource } from 'tessera/resource';
 * ```
 * @packageDocumentation
 */
export { TokenError, type TokenErrorCode } from './errors.js';
export { type RequireToken, tesseraResource } from './fastify.js';
export { metadataPath, metadataUrl, protectedResourceMetadata } from './metadata.js';
export { type AuthRequest, bearerAuth, metadataHandler, type Next } from './node.js';
export type { BearerAuthOptions, ResourceOptions, TokenInfo, TokenVerifier } from './types.js';
export { createTokenVerifier } from './verifier.js';
