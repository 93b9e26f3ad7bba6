/**
 * What a refused request gets back (RFC 6750 §3 with RFC 9728 §5.1): the status, a
 * `WWW-Authenticate: Bearer …` challenge that names the resource's metadata, and a JSON body.
 * Framework-free, so that the Fastify plugin and the Node middleware answer alike.
 */
import { TokenError } from './errors.js';
import { metadataUrl } from './metadata.js';

export interface Refusal {
  status: 400 | 401 | 403;
  headers: Record<string, string>;
  body: { error: string; error_description: string };
}

/**
 * Header parameter values are quoted-strings limited to %x20-21 / %x23-5B / %x5D-7E
 * (RFC 6750 §3): no quote, no backslash, nothing outside printable ASCII.
 */
function quoted(value: string): string {
  return `"${value.replace(/[^\x20-\x21\x23-\x5b\x5d-\x7e]/g, '?')}"`;
}

/** The challenge and body for `error`, whose resource's metadata is at `metadataUrl(resource)`. */
export function refusal(error: TokenError, resource: string): Refusal {
  const params: string[] = [];
  // RFC 6750 §3.1: a request without any token gets no error code, only where to start.
  if (!error.missing) {
    params.push(`error=${quoted(error.error)}`, `error_description=${quoted(error.message)}`);
  }
  if (error.scope) params.push(`scope=${quoted(error.scope)}`);
  params.push(`resource_metadata=${quoted(metadataUrl(resource))}`);
  return {
    status: error.status,
    headers: {
      'www-authenticate': `Bearer ${params.join(', ')}`,
      'cache-control': 'no-store',
      'content-type': 'application/json; charset=utf-8',
    },
    body: { error: error.error, error_description: error.message },
  };
}

/** RFC 6750 §2.1's b64token: what a Bearer credential may be spelled with. */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/**
 * The bearer token of a request, from its Authorization header only. A query-string token is
 * refused outright (it ends up in logs and Referer headers: RFC 9700 §2.5); another scheme
 * (Basic, DPoP) counts as no token at all.
 */
export function bearerToken(
  authorization: string | string[] | undefined,
  hasQueryToken: boolean,
): string {
  if (hasQueryToken) {
    throw new TokenError(
      'invalid_request',
      'access tokens are accepted only in the Authorization header, not in the query string',
    );
  }
  const header = Array.isArray(authorization) ? authorization[0] : authorization;
  if (header === undefined || header.trim() === '') {
    throw new TokenError(
      'invalid_token',
      'an access token is required: send Authorization: Bearer <token>',
      { missing: true },
    );
  }
  const match = /^([A-Za-z0-9!#$%&'*+\-.^_`|~]+)(?: +(.*))?$/.exec(header.trim());
  if (!match) throw new TokenError('invalid_request', 'the Authorization header is malformed');
  if (match[1]!.toLowerCase() !== 'bearer') {
    throw new TokenError(
      'invalid_token',
      `the ${match[1]} scheme is not accepted here: send Authorization: Bearer <token>`,
      { missing: true },
    );
  }
  const token = match[2]?.trim() ?? '';
  if (!B64TOKEN.test(token)) {
    throw new TokenError(
      'invalid_request',
      'the Authorization header is malformed: expected "Bearer" followed by one token',
    );
  }
  return token;
}

/** Whether a request URL (path and query) carries `access_token` in its query string. */
export function hasQueryToken(url: string | undefined): boolean {
  const query = url?.indexOf('?') ?? -1;
  return query >= 0 && new URLSearchParams(url!.slice(query + 1)).has('access_token');
}
