import type { FastifyRequest } from 'fastify';

/**
 * Query parameters whose values may be logged: they name things, they are not secrets. Every
 * other value (codes, tokens, ID token hints, state, return_to, which can carry any of those,
 * passwords) is replaced, so a log never holds a credential in full. Bodies are never logged.
 */
const LOGGABLE = new Set([
  'client_id',
  'response_type',
  'response_mode',
  'scope',
  'redirect_uri',
  'post_logout_redirect_uri',
  'prompt',
  'max_age',
  'display',
  'ui_locales',
  'code_challenge_method',
  'grant_type',
  'token_type_hint',
  'limit',
  'offset',
  'notice',
  'error',
]);

/** The URL with the values of every parameter not known to be harmless replaced. */
export function redactedUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const params = new URLSearchParams(url.slice(q + 1));
  const shown = [...params].map(([name, value]) =>
    LOGGABLE.has(name) ? `${name}=${encodeURIComponent(value)}` : `${name}=[redacted]`,
  );
  return `${url.slice(0, q)}?${shown.join('&')}`;
}

/** Fastify's request serializer, less what must not be written to logs. */
export function requestSerializer(request: FastifyRequest) {
  return {
    method: request.method,
    url: redactedUrl(request.url),
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket?.remotePort,
  };
}

export const LOG_SERIALIZERS = { req: requestSerializer };
