import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.js';

/** Liveness and readiness probes. */
export function registerHealthRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (request, reply) => {
    try {
      await ctx.store.ping();
      return { status: 'ok', database: ctx.store.dialect };
    } catch (error) {
      request.log.warn({ err: error }, 'readiness check failed: database unreachable');
      return reply.code(503).send({ status: 'unavailable', database: ctx.store.dialect });
    }
  });
}
