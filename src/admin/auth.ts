import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../context.js';
import { type ErrorBody, type SurfaceCode, statusOf } from '../error-catalogue.js';
import { currentUser } from '../http/session.js';
import { safeEqual } from '../lib/hash.js';

/**
 * Admin requests prove themselves with the X-Admin-Key header (compared in
 * constant time) or come from a signed-in person with the admin role. Others
 * get 401 `unauthorized`; a signed-in person without the role gets 403 `forbidden`.
 */
export function requireAdmin(ctx: AppContext) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    reply.header('cache-control', 'no-store');
    const key = request.headers['x-admin-key'];
    if (typeof key === 'string' && ctx.config.adminKey && safeEqual(key, ctx.config.adminKey))
      return;
    if (key !== undefined) return deny(reply, 'unauthorized', 'the X-Admin-Key is not valid');
    const signedIn = await currentUser(ctx, request);
    if (signedIn?.user.role === 'admin') {
      // A browser session is a cookie, which a cross-site form could carry: changes must be JSON,
      // which such a form cannot send without a CORS preflight we never grant.
      const type = request.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
      if (request.method !== 'GET' && request.method !== 'DELETE' && type !== 'application/json') {
        return deny(reply, 'invalid_request', 'admin changes take a JSON body', 415);
      }
      return;
    }
    if (signedIn) return deny(reply, 'forbidden', 'this account does not have the admin role');
    return deny(
      reply,
      'unauthorized',
      'admin authentication required: send the X-Admin-Key header or sign in as an admin',
    );
  };
}

function deny(
  reply: FastifyReply,
  error: SurfaceCode<'admin'>,
  description: string,
  status = statusOf(error),
) {
  if (status === 401) reply.header('www-authenticate', 'AdminKey realm="tessera-admin"');
  const body: ErrorBody = { error, error_description: description };
  return reply.code(status).send(body);
}
