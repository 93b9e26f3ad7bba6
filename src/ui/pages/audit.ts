import type { FastifyRequest } from 'fastify';
import { type AppContext, nowSeconds } from '../../context.js';

/** Records what a person did through the pages, with the address it came from. */
export function recordAudit(
  ctx: AppContext,
  request: FastifyRequest,
  type: string,
  userId: string | null,
  details: Record<string, unknown> | null = null,
): Promise<void> {
  return ctx.store.audit.record({
    type,
    userId,
    clientId: null,
    ip: request.ip,
    details,
    createdAt: nowSeconds(ctx),
  });
}
