/**
 * The kit's options and what it hands to request handlers. Kept apart from the code so that the
 * Fastify plugin, the Node middleware and the verifier share one definition.
 */

/**
 * How a resource server (an API, an MCP server) checks Tessera's access tokens.
 *
 * @example
 * ```ts
 * const options: ResourceOptions = {
 *   issuer: 'https://id.example.com',
 *   resource: 'https://mcp.example.com/mcp',
 *   scopesSupported: ['notes:read', 'notes:write'],
 *   introspection: { clientId: 'api_123', clientSecret: process.env.API_SECRET! },
 * };
 * ```
 */
export interface ResourceOptions {
  /** Tessera's issuer URL; its metadata (RFC 8414 / OIDC discovery) gives jwks_uri and introspection_endpoint. */
  issuer: string;
  /** This API's identifier: the `aud` its tokens carry (an MCP server: its URL, e.g. https://mcp.example.com/mcp). */
  resource: string;
  /** scopes_supported in the protected resource metadata (RFC 9728). */
  scopesSupported?: string[];
  /** Credentials for RFC 7662 introspection of opaque tokens (the API's own credentials from `tessera api create`). */
  introspection?: { clientId: string; clientSecret: string };
  /** resource_name in the protected resource metadata: a human-readable name. */
  resourceName?: string;
  /** resource_documentation in the protected resource metadata: a URL of the API's documentation. */
  resourceDocumentation?: string;
  /** Seconds of leeway for `exp`, `nbf` and `iat` against clocks that differ a little. Default 5. */
  clockTolerance?: number;
  /**
   * Seconds an introspection answer is reused for the same token (never past the token's `exp`).
   * Default 30; 0 asks Tessera every time. A revoked opaque token is refused at most this late.
   */
  introspectionCacheTtl?: number;
  /**
   * Seconds after a JWKS download during which a token signed with an unknown `kid` does not
   * trigger another one (a flood of forged `kid`s cannot make the kit hammer Tessera). Default 30.
   */
  jwksCooldown?: number;
  /** The clock, in milliseconds since the epoch (Date.now by default); tests move it forward. */
  now?: () => number;
  /** The fetch used for the issuer's metadata, JWKS and introspection (globalThis.fetch by default). */
  fetch?: typeof globalThis.fetch;
}

/**
 * A checked access token. Compatible with the MCP SDK's `AuthInfo`, which the SDK's
 * `StreamableHTTPServerTransport` reads from `req.auth` and hands to tool handlers as `extra.authInfo`.
 *
 * @example
 * ```ts
 * server.tool('whoami', async (_args, { authInfo }) => ({
 *   content: [{ type: 'text', text: String(authInfo?.extra?.sub) }],
 * }));
 * ```
 */
export interface TokenInfo {
  /** The access token itself, as presented. */
  token: string;
  /** The client the token was issued to (`client_id`). */
  clientId: string;
  /** The scopes the token grants (`scope`, split on spaces). */
  scopes: string[];
  /** When the token expires, in seconds since the epoch (`exp`). */
  expiresAt?: number;
  /** The resource the token was checked for: this API's identifier, which its `aud` includes. */
  resource?: URL;
  /** `sub` (the user, or the client for a client_credentials token) and every claim of the token. */
  extra: { sub: string; claims: Record<string, unknown> };
}

/** Options of {@link bearerAuth}: the resource's options and the scopes every request needs. */
export interface BearerAuthOptions extends ResourceOptions {
  /** Scopes the token must all carry; without one, 403 insufficient_scope. */
  requiredScopes?: string[];
  /**
   * A verifier to share between several middlewares (one JWKS download and one introspection
   * cache for all of them); by default each middleware makes its own from the options.
   */
  verifier?: TokenVerifier;
}

/** Checks access tokens for one resource: see {@link createTokenVerifier}. */
export interface TokenVerifier {
  /**
   * The token's information when it is valid for this resource and carries every scope of
   * `requiredScopes`; otherwise rejects with a `TokenError` (any other error: Tessera could not
   * be asked, not the client's fault).
   */
  verify(token: string, requiredScopes?: string[]): Promise<TokenInfo>;
}
