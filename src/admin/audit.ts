import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { AppContext } from '../context.js';
import type { AuditEvent } from '../store/types.js';
import { requireAdmin } from './auth.js';

const AuditQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
  user_id: Type.Optional(Type.String({ maxLength: 200 })),
});

/** An audit event on the wire; `details` never holds a secret (each recorder sees to that). */
function eventView(event: AuditEvent) {
  return {
    id: event.id,
    type: event.type,
    user_id: event.userId,
    client_id: event.clientId,
    ip: event.ip,
    details: event.details,
    created_at: event.createdAt,
  };
}

/** The audit log, newest first: what admins read after a sign-in storm or a deleted account. */
export function registerAuditAdmin(app: FastifyInstance, ctx: AppContext): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  api.get(
    '/admin/api/audit',
    { onRequest: requireAdmin(ctx), schema: { querystring: AuditQuery } },
    async (request) => {
      const { limit = 50, user_id: userId } = request.query;
      const events = await ctx.store.audit.list({ limit, ...(userId ? { userId } : {}) });
      return { events: events.map(eventView), limit };
    },
  );
}
