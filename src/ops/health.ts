import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.js';
import { StoreBusyError } from '../store/types.js';

/** Liveness and readiness probes. */
export function registerHealthRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (request, reply) => {
    try {
      await ctx.store.ping();
      return { status: 'ok', database: ctx.store.dialect };
    } catch (error) {
      // The reason tells an operator where to look; /healthz (liveness) never touches the database.
      const reason =
        error instanceof StoreBusyError
          ? 'the database is locked by another process: writes are refused until it lets go'
          : 'the database cannot be reached';
      request.log.warn({ err: error }, `readiness check failed: ${reason}`);
      return reply
        .code(503)
        .header('cache-control', 'no-store')
        .send({ status: 'unavailable', database: ctx.store.dialect, reason });
    }
  });
}
