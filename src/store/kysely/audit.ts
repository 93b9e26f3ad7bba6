import type { Kysely } from 'kysely';
import type { AuditStore } from '../types.js';
import { fromJson, toJson } from './codec.js';
import type { Database } from './schema.js';

export function auditStore(db: Kysely<Database>): AuditStore {
  return {
    async record(event) {
      await db
        .insertInto('audit_events')
        .values({
          type: event.type,
          user_id: event.userId,
          client_id: event.clientId,
          ip: event.ip,
          details: toJson(event.details),
          created_at: event.createdAt,
        })
        .execute();
    },

    async list({ limit, userId, types }) {
      const exact = types?.filter((t) => !t.endsWith('.')) ?? [];
      // A prefix names a family of types ("security."); our type names hold no "%" or "_".
      const prefixes = types?.filter((t) => t.endsWith('.')) ?? [];
      const rows = await db
        .selectFrom('audit_events')
        .selectAll()
        .$if(userId !== undefined, (q) => q.where('user_id', '=', userId!))
        .$if(types !== undefined, (q) =>
          q.where((eb) =>
            eb.or([
              ...(exact.length > 0 ? [eb('type', 'in', exact)] : []),
              ...prefixes.map((p) => eb('type', 'like', `${p}%`)),
            ]),
          ),
        )
        .orderBy('id', 'desc')
        .limit(limit)
        .execute();
      return rows.map((row) => ({
        id: Number(row.id),
        type: row.type,
        userId: row.user_id,
        clientId: row.client_id,
        ip: row.ip,
        details: fromJson<Record<string, unknown>>(row.details),
        createdAt: row.created_at,
      }));
    },
  };
}
