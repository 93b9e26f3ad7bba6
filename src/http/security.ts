import type { FastifyInstance } from 'fastify';

const PAGE_CSP = [
  "default-src 'self'",
  "img-src 'self' data:",
  "style-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "object-src 'none'",
].join('; ');

/** A year, as HSTS deployments usually ask; subdomains are left to whoever runs them. */
const HSTS = 'max-age=31536000';

/**
 * Headers every response carries. Pages are never framed (clickjacking on
 * consent) and never cached (they hold CSRF tokens and personal data). When
 * the issuer is https, browsers are told to use nothing else (RFC 6797).
 */
export function registerSecurityHeaders(app: FastifyInstance, options: { https: boolean }): void {
  const { https } = options;
  // A callback hook, not an async one: it runs on every response.
  app.addHook('onSend', (_request, reply, payload, done) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    if (https) reply.header('strict-transport-security', HSTS);
    const type = String(reply.getHeader('content-type') ?? '');
    if (type.startsWith('text/html')) {
      reply.header('x-frame-options', 'DENY');
      if (!reply.hasHeader('content-security-policy'))
        reply.header('content-security-policy', PAGE_CSP);
      if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    }
    done(null, payload);
  });
}
