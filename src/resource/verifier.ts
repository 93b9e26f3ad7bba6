/**
 * The token check both the Fastify plugin and the Node middleware use: a JWT locally, anything
 * else by introspection, then the rules every token meets whatever its format.
 */
import { TokenError } from './errors.js';
import { introspectionChecker } from './introspection.js';
import { issuerMetadata } from './issuer.js';
import { jwtChecker, looksLikeJwt } from './jwt.js';
import { resourceUrl } from './metadata.js';
import type { ResourceOptions, TokenInfo, TokenVerifier } from './types.js';

/** `aud` as RFC 7519 §4.1.3 allows it: one string or an array of them. */
function audiences(aud: unknown): string[] {
  if (typeof aud === 'string') return [aud];
  return Array.isArray(aud) ? aud.filter((a): a is string => typeof a === 'string') : [];
}

/** What an introspection answer must also say before it counts as a token for this resource. */
function checkIntrospected(body: Record<string, unknown>, options: ResourceOptions, now: number) {
  if (body.token_type === 'refresh_token') {
    throw new TokenError('invalid_token', 'a refresh token is not an access token');
  }
  if (!audiences(body.aud).includes(options.resource)) {
    throw new TokenError('invalid_token', 'the access token is not meant for this resource (aud)');
  }
  if (body.iss !== undefined && body.iss !== options.issuer) {
    throw new TokenError(
      'invalid_token',
      'the access token was not issued by the trusted issuer (iss)',
    );
  }
  const tolerance = options.clockTolerance ?? 5;
  if (typeof body.exp === 'number' && body.exp + tolerance <= now / 1000) {
    throw new TokenError('invalid_token', 'the access token has expired');
  }
}

/** The rules for every token, then its information in the MCP SDK's AuthInfo shape. */
function tokenInfo(
  token: string,
  claims: Record<string, unknown>,
  requiredScopes: string[],
  resource: URL,
): TokenInfo {
  const cnf = claims.cnf as { jkt?: unknown } | undefined;
  if (cnf && typeof cnf === 'object' && cnf.jkt !== undefined) {
    // RFC 9449 §7.1: a DPoP-bound token presented as a bearer token is refused; the kit does
    // not check DPoP proofs, so it cannot accept one at all.
    throw new TokenError(
      'invalid_token',
      'the access token is bound to a DPoP key and cannot be used as a bearer token',
    );
  }
  if (typeof claims.client_id !== 'string') {
    throw new TokenError('invalid_token', 'the access token names no client (client_id)');
  }
  const scopes = typeof claims.scope === 'string' ? claims.scope.split(' ').filter(Boolean) : [];
  const missing = requiredScopes.filter((scope) => !scopes.includes(scope));
  if (missing.length > 0) {
    throw new TokenError(
      'insufficient_scope',
      `the access token lacks the scope ${missing.join(' ')}`,
      // RFC 6750 §3: the scope attribute names what the request needs, all of it.
      { scope: requiredScopes.join(' ') },
    );
  }
  return {
    token,
    clientId: claims.client_id,
    scopes,
    ...(typeof claims.exp === 'number' ? { expiresAt: claims.exp } : {}),
    resource,
    extra: { sub: typeof claims.sub === 'string' ? claims.sub : claims.client_id, claims },
  };
}

/**
 * Makes the token checker for one resource. Nothing is fetched until the first token: then
 * Tessera's metadata (once), its JWKS (again only for an unknown `kid`), and for an opaque token
 * an introspection (cached briefly). Throws at once on options that cannot work.
 *
 * @example
 * ```ts
 * import { createTokenVerifier, TokenError } from 'tessera/resource';
 *
 * const verifier = createTokenVerifier({
 *   issuer: 'https://id.example.com',
 *   resource: 'https://api.example.com',
 * });
 * const info = await verifier.verify(token, ['orders:read']);
 * console.log(info.clientId, info.scopes, info.extra.sub);
 * ```
 */
export function createTokenVerifier(options: ResourceOptions): TokenVerifier {
  const resource = resourceUrl(options.resource);
  try {
    new URL(options.issuer);
  } catch {
    throw new TypeError(
      `tessera/resource: issuer must be an absolute URL, got "${options.issuer}"`,
    );
  }
  const fetcher = options.fetch ?? globalThis.fetch;
  const now = options.now ?? Date.now;
  const metadata = issuerMetadata(options.issuer, fetcher);
  const checkJwt = jwtChecker({
    issuer: options.issuer,
    resource: options.resource,
    metadata,
    fetch: fetcher,
    clockTolerance: options.clockTolerance ?? 5,
    jwksCooldown: options.jwksCooldown ?? 30,
    now,
  });
  const introspect =
    options.introspection &&
    introspectionChecker({
      issuer: options.issuer,
      credentials: options.introspection,
      metadata,
      fetch: fetcher,
      cacheTtl: options.introspectionCacheTtl ?? 30,
      now,
    });

  return {
    async verify(token, requiredScopes = []) {
      if (!token) {
        throw new TokenError('invalid_token', 'an access token is required', { missing: true });
      }
      let claims: Record<string, unknown>;
      if (looksLikeJwt(token)) {
        claims = await checkJwt(token);
      } else if (introspect) {
        claims = await introspect(token);
        checkIntrospected(claims, options, now());
      } else {
        throw new TokenError(
          'invalid_token',
          'the access token is not a JWT, and this resource cannot introspect other tokens',
        );
      }
      return tokenInfo(token, claims, requiredScopes, resource);
    },
  };
}
