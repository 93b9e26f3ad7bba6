import type { FastifyRequest } from 'fastify';
import type { Config } from '../../config.js';
import type { AppContext } from '../../context.js';
import type { Client } from '../../store/types.js';
import type { DpopProof } from '../dpop.js';
import type { RawParams } from '../params.js';

/** The JSON body of a successful token response (RFC 6749 §5.1, OpenID Connect Core §3.1.3.3). */
export interface TokenResponse {
  access_token: string;
  /** `DPoP` when the access token is bound to the key of the request's DPoP proof (RFC 9449 §5). */
  token_type: 'Bearer' | 'DPoP';
  expires_in: number;
  scope: string;
  refresh_token?: string;
  id_token?: string;
  /** RFC 8693 §2.2.1: the type of the token issued by a token exchange. */
  issued_token_type?: string;
}

/** One grant type of the token endpoint; the endpoint dispatches on `grantType` through a map. */
export interface Grant {
  grantType: string;
  /** The parameters this grant reads, besides grant_type and client authentication. */
  parameters: readonly string[];
  /**
   * For a grant that can prove its client by itself (the JWT bearer grant, RFC 7523 §3.1): when
   * the request carries no client credentials, finds and authenticates the client from the grant.
   */
  authenticate?(ctx: AppContext, request: FastifyRequest, params: RawParams): Promise<Client>;
  /** Whether the server offers this grant; absent: always. Off, it is unsupported and unadvertised. */
  enabled?: (config: Config) => boolean;
  handle(
    ctx: AppContext,
    client: Client,
    params: RawParams,
    request: FastifyRequest,
    /** The request's DPoP proof, checked (RFC 9449 §4.3); the grant binds its tokens to its key. */
    dpop?: DpopProof,
  ): Promise<TokenResponse>;
}
