import type { FastifyRequest } from 'fastify';
import { decodeJwt } from 'jose';
import { JWT_BEARER } from '../domain/client-rules.js';
import { isClientIdLength } from '../domain/metadata-document.js';
import { decodeBasic } from './client-auth.js';

/** The `sub` (client assertion) or `iss` (JWT bearer grant) of a JWT, unchecked. */
function claimOf(jwt: unknown, claim: 'sub' | 'iss'): unknown {
  if (typeof jwt !== 'string' || jwt.length > 8192) return undefined;
  try {
    return decodeJwt(jwt)[claim];
  } catch {
    return undefined;
  }
}

/**
 * The client id a token, introspection or revocation request names, in its
 * Basic credentials (RFC 6749 §2.3.1), as `client_id` in the body, as the `sub`
 * of a client assertion (RFC 7523 §2.2) or the `iss` of a JWT bearer grant's
 * assertion sent without client credentials (RFC 7523 §3.1), without checking
 * anything: what the abuse limits count a failure against. Undefined when the
 * request names none, or names it in a way client-auth.ts refuses.
 */
export function presentedClientId(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  let id: unknown;
  if (header && /^basic(?:\s|$)/i.test(header)) {
    id = decodeBasic(header)?.clientId;
  } else {
    const body = request.body;
    const form = body && typeof body === 'object' ? (body as Record<string, unknown>) : {};
    id =
      form.client_id ??
      claimOf(form.client_assertion, 'sub') ??
      (form.grant_type === JWT_BEARER ? claimOf(form.assertion, 'iss') : undefined);
  }
  // client-auth.ts looks up no longer id (200 characters, 1024 for a metadata document's URL).
  return typeof id === 'string' && id !== '' && isClientIdLength(id) ? id : undefined;
}
