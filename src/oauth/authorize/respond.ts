import type { FastifyReply, FastifyRequest } from 'fastify';
import type { OAuthError } from '../errors.js';
import type { ProtocolViews } from '../views.js';
import type { ResponseTarget } from './request.js';

/**
 * Sends an authorization response (success or error) to the client's redirect
 * URI in the requested mode, always with `state` and `iss` (RFC 9207).
 */
export function sendAuthorizationResponse(
  request: FastifyRequest,
  reply: FastifyReply,
  views: ProtocolViews,
  issuer: string,
  target: ResponseTarget,
  values: Record<string, string>,
): FastifyReply {
  const fields: Record<string, string> = { ...values };
  if (target.state !== undefined) fields.state = target.state;
  fields.iss = issuer;
  reply.header('cache-control', 'no-store');
  if (target.responseMode === 'form_post')
    return views.formPost(request, reply, target.redirectUri, fields);
  const url = new URL(target.redirectUri);
  if (target.responseMode === 'fragment') {
    url.hash = new URLSearchParams(fields).toString();
  } else {
    for (const [key, value] of Object.entries(fields)) url.searchParams.append(key, value);
  }
  // 303 after a form post, so the browser does not re-post to the client.
  return reply.redirect(url.toString(), request.method === 'POST' ? 303 : 302);
}

export function sendAuthorizationError(
  request: FastifyRequest,
  reply: FastifyReply,
  views: ProtocolViews,
  issuer: string,
  target: ResponseTarget,
  error: OAuthError,
): FastifyReply {
  return sendAuthorizationResponse(request, reply, views, issuer, target, {
    error: error.error,
    error_description: error.description,
  });
}
