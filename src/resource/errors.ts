/** The errors of RFC 6750 §3.1 a resource server answers with. */
export type TokenErrorCode = 'invalid_token' | 'insufficient_scope' | 'invalid_request';

const STATUS = { invalid_request: 400, invalid_token: 401, insufficient_scope: 403 } as const;

/**
 * Why a request was refused: the RFC 6750 `error`, its HTTP status, a description safe to show
 * the client (`message`), and for `insufficient_scope` the scopes needed.
 *
 * @example
 * ```ts
 * try {
 *   const info = await verifier.verify(token, ['notes:read']);
 * } catch (e) {
 *   if (e instanceof TokenError) console.log(e.status, e.error, e.message, e.scope);
 *   else throw e; // Tessera unreachable, a bug: not the client's fault
 * }
 * ```
 */
export class TokenError extends Error {
  /** 400 for invalid_request, 401 for invalid_token, 403 for insufficient_scope. */
  readonly status: 400 | 401 | 403;
  /** Space-separated scopes the request needs (insufficient_scope only). */
  readonly scope?: string;
  /**
   * True when the request carried no token at all: the challenge then names no error code
   * (RFC 6750 §3.1), only where to find the resource's metadata.
   */
  readonly missing: boolean;

  constructor(
    readonly error: TokenErrorCode,
    description: string,
    details: { scope?: string; missing?: boolean } = {},
  ) {
    super(description);
    this.name = 'TokenError';
    this.status = STATUS[error];
    if (details.scope !== undefined) this.scope = details.scope;
    this.missing = details.missing ?? false;
  }
}
