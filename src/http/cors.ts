import type { FastifyInstance } from 'fastify';

/**
 * CORS for the endpoints a browser app calls directly (token, userinfo,
 * revocation, JWKS, discovery). No cookies cross: credentials are never
 * allowed, so any origin may call them, as with other providers' public endpoints.
 */
export function registerCors(
  app: FastifyInstance,
  paths: readonly string[],
  options: { dpop: boolean },
): void {
  const set = new Set(paths);
  // DPoP (RFC 9449), when on: a browser app sends its proofs in DPoP and must read DPoP-Nonce.
  const expose = options.dpop ? 'WWW-Authenticate, DPoP-Nonce' : 'WWW-Authenticate';
  const allow = options.dpop ? 'Authorization, Content-Type, DPoP' : 'Authorization, Content-Type';
  // A callback hook, not an async one: it runs on every request, and most carry no Origin.
  app.addHook('onRequest', (request, reply, done) => {
    if (!request.headers.origin) return done();
    const path = request.url.split('?')[0]!.replace(/\/+$/, '') || '/';
    if (!set.has(path)) return done();
    reply.header('access-control-allow-origin', '*');
    reply.header('access-control-expose-headers', expose);
    if (request.method === 'OPTIONS') {
      reply
        .header('access-control-allow-methods', 'GET, POST, OPTIONS')
        .header('access-control-allow-headers', allow)
        .header('access-control-max-age', '600')
        .code(204)
        .send();
      return;
    }
    done();
  });
  for (const path of paths) app.options(path, async (_request, reply) => reply.code(204).send());
}
