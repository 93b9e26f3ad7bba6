import type { FastifyRequest } from 'fastify';
import { decodeBasic } from './client-auth.js';

/**
 * The client id a token, introspection or revocation request names, in its
 * Basic credentials (RFC 6749 §2.3.1) or as `client_id` in the body, without
 * checking anything: what the abuse limits count a failure against. Undefined
 * when the request names none, or names it in a way client-auth.ts refuses.
 */
export function presentedClientId(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  let id: unknown;
  if (header && /^basic(?:\s|$)/i.test(header)) {
    id = decodeBasic(header)?.clientId;
  } else {
    const body = request.body;
    id = body && typeof body === 'object' ? (body as Record<string, unknown>).client_id : undefined;
  }
  // client-auth.ts looks up no id longer than 200 characters.
  return typeof id === 'string' && id !== '' && id.length <= 200 ? id : undefined;
}
