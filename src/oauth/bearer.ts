import type { FastifyRequest } from 'fastify';
import { InvalidRequest, OAuthError } from './errors.js';

/** No token at all (RFC 6750 §3.1): a bare challenge, no error code. */
export class MissingToken extends OAuthError {
  constructor() {
    super(
      'invalid_request',
      'an access token is required: send it as "Authorization: Bearer <token>"',
    );
    this.status = 401;
    this.headers['www-authenticate'] = 'Bearer realm="tessera"';
    this.redirectable = false;
  }
}

/**
 * The bearer token of a request, from the Authorization header or the form
 * body (RFC 6750 §2.1 and §2.2); sending it both ways is an invalid_request.
 */
export function bearerToken(request: FastifyRequest): string {
  const header = request.headers.authorization;
  const isForm = String(request.headers['content-type'] ?? '').startsWith(
    'application/x-www-form-urlencoded',
  );
  const body = isForm ? (request.body as Record<string, unknown> | undefined) : undefined;
  const fromBody = body?.access_token;
  if (Array.isArray(fromBody))
    throw new InvalidRequest('access_token must not be sent more than once');
  if (header !== undefined) {
    if (typeof fromBody === 'string')
      throw new InvalidRequest('send the access token one way only');
    const match = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header);
    if (!match) {
      if (/^bearer/i.test(header))
        throw new InvalidRequest('the Authorization header is not a valid Bearer token');
      throw new MissingToken();
    }
    return match[1]!;
  }
  if (typeof fromBody === 'string' && fromBody !== '') return fromBody;
  throw new MissingToken();
}

/** An access token as a request presents it: as a Bearer token, or DPoP-bound (RFC 9449 §7.1). */
export interface PresentedToken {
  token: string;
  scheme: 'Bearer' | 'DPoP';
}

/**
 * The access token of a request to a protected resource: `Authorization: DPoP <token>` when DPoP
 * is on (a DPoP token travels only in the header), else as bearerToken reads it.
 */
export function presentedToken(request: FastifyRequest, dpop: boolean): PresentedToken {
  const header = request.headers.authorization;
  if (dpop && header !== undefined && /^dpop(?: |$)/i.test(header)) {
    const match = /^DPoP +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header);
    if (!match) throw new InvalidRequest('the Authorization header is not a valid DPoP token');
    return { token: match[1]!, scheme: 'DPoP' };
  }
  return { token: bearerToken(request), scheme: 'Bearer' };
}
