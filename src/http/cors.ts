import type { FastifyInstance } from 'fastify';

/**
 * CORS for the endpoints a browser app calls directly (token, userinfo,
 * revocation, JWKS, discovery). No cookies cross: credentials are never
 * allowed, so any origin may call them, as with other providers' public endpoints.
 */
export function registerCors(app: FastifyInstance, paths: readonly string[]): void {
  const set = new Set(paths);
  // A callback hook, not an async one: it runs on every request, and most carry no Origin.
  app.addHook('onRequest', (request, reply, done) => {
    if (!request.headers.origin) return done();
    const path = request.url.split('?')[0]!.replace(/\/+$/, '') || '/';
    if (!set.has(path)) return done();
    reply.header('access-control-allow-origin', '*');
    // DPoP (RFC 9449): a browser app must read DPoP-Nonce, and send its proofs in DPoP.
    reply.header('access-control-expose-headers', 'WWW-Authenticate, DPoP-Nonce');
    if (request.method === 'OPTIONS') {
      reply
        .header('access-control-allow-methods', 'GET, POST, OPTIONS')
        .header('access-control-allow-headers', 'Authorization, Content-Type, DPoP')
        .header('access-control-max-age', '600')
        .code(204)
        .send();
      return;
    }
    done();
  });
  for (const path of paths) app.options(path, async (_request, reply) => reply.code(204).send());
}
