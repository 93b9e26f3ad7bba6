import type { Kysely, Selectable } from 'kysely';
import type { PushedRequest, PushedRequestResult, PushedRequestStore } from '../types.js';
import type { Database, PushedRequestsTable } from './schema.js';

function toRequest(row: Selectable<PushedRequestsTable>): PushedRequest {
  return {
    id: row.id,
    clientId: row.client_id,
    parameters: JSON.parse(row.parameters) as Record<string, string | string[]>,
    createdAt: Number(row.created_at),
    expiresAt: Number(row.expires_at),
    startedAt: row.started_at === null ? null : Number(row.started_at),
    finishedAt: row.finished_at === null ? null : Number(row.finished_at),
  };
}

export function pushedRequestStore(db: Kysely<Database>): PushedRequestStore {
  const find = (id: string) =>
    db.selectFrom('pushed_requests').selectAll().where('id', '=', id).executeTakeFirst();

  return {
    async save(request) {
      await db
        .insertInto('pushed_requests')
        .values({
          id: request.id,
          client_id: request.clientId,
          parameters: JSON.stringify(request.parameters),
          created_at: request.createdAt,
          expires_at: request.expiresAt,
          started_at: request.startedAt,
          finished_at: request.finishedAt,
        })
        .execute();
    },

    async start(id, clientId, now, resumeUntil) {
      // One conditional UPDATE: of any number of concurrent callers exactly one gets the row.
      const row = await db
        .updateTable('pushed_requests')
        .set({ started_at: now, expires_at: resumeUntil })
        .where('id', '=', id)
        .where('client_id', '=', clientId)
        .where('started_at', 'is', null)
        .where('expires_at', '>', now)
        .returningAll()
        .executeTakeFirst();
      if (row) return { status: 'ok', request: toRequest(row) };
      const existing = await find(id);
      if (!existing) return { status: 'missing' };
      // Whether another client's request was used or has expired is none of this client's business.
      if (existing.client_id !== clientId) return { status: 'other_client' };
      return existing.started_at !== null ? { status: 'used' } : { status: 'expired' };
    },

    async resume(id, clientId, now): Promise<PushedRequestResult> {
      const row = await find(id);
      if (!row || row.started_at === null) return { status: 'missing' };
      if (row.client_id !== clientId) return { status: 'other_client' };
      if (row.finished_at !== null) return { status: 'used' };
      if (Number(row.expires_at) <= now) return { status: 'expired' };
      return { status: 'ok', request: toRequest(row) };
    },

    async finish(id, now) {
      const result = await db
        .updateTable('pushed_requests')
        .set({ finished_at: now })
        .where('id', '=', id)
        .where('started_at', 'is not', null)
        .where('finished_at', 'is', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },
  };
}
