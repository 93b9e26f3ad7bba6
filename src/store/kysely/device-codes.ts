import type { Kysely, Selectable, Transaction } from 'kysely';
import type { DeviceCode, DeviceCodeStatus, DeviceCodeStore } from '../types.js';
import { fromJson, list, toJson } from './codec.js';
import type { CommitGroup } from './commit-group.js';
import type { Database, DeviceCodesTable } from './schema.js';
import { tokenInserter } from './tokens.js';

function toDeviceCode(row: Selectable<DeviceCodesTable>): DeviceCode {
  return {
    id: row.id,
    userCodeHash: row.user_code_hash,
    clientId: row.client_id,
    scope: row.scope,
    status: row.status as DeviceCodeStatus,
    userId: row.user_id,
    grantId: row.grant_id,
    authTime: row.auth_time,
    acr: row.acr,
    amr: fromJson(row.amr),
    interval: row.poll_interval,
    resources: list(row.resources ?? '[]'),
    lastPolledAt: row.last_polled_at,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    consumedAt: row.consumed_at,
  };
}

/** The device authorization requests (RFC 8628); not on the code flow's hot path. */
export function deviceCodeStore(db: Kysely<Database>, group?: CommitGroup): DeviceCodeStore {
  const insertTokens = tokenInserter(db);

  return {
    async save(code) {
      await db
        .insertInto('device_codes')
        .values({
          id: code.id,
          user_code_hash: code.userCodeHash,
          client_id: code.clientId,
          scope: code.scope,
          status: code.status,
          user_id: code.userId,
          grant_id: code.grantId,
          auth_time: code.authTime,
          acr: code.acr,
          amr: toJson(code.amr),
          poll_interval: code.interval,
          resources: JSON.stringify(code.resources ?? []),
          last_polled_at: code.lastPolledAt,
          created_at: code.createdAt,
          expires_at: code.expiresAt,
          consumed_at: code.consumedAt,
        })
        .execute();
    },

    async find(id) {
      const row = await db
        .selectFrom('device_codes')
        .selectAll()
        .where('id', '=', id)
        .executeTakeFirst();
      return row && toDeviceCode(row);
    },

    async findByUserCode(userCodeHash) {
      const row = await db
        .selectFrom('device_codes')
        .selectAll()
        .where('user_code_hash', '=', userCodeHash)
        .executeTakeFirst();
      return row && toDeviceCode(row);
    },

    async decide(id, decision, now) {
      // One conditional UPDATE: of two answers racing (two tabs), exactly one is recorded.
      const result = await db
        .updateTable('device_codes')
        .set({
          status: decision.status,
          user_id: decision.userId,
          grant_id: decision.grantId,
          auth_time: decision.authTime,
          acr: decision.acr,
          amr: toJson(decision.amr),
        })
        .where('id', '=', id)
        .where('status', '=', 'pending')
        .where('expires_at', '>', now)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    async recordPoll(id, previous, now, interval) {
      const result = await db
        .updateTable('device_codes')
        .set({ last_polled_at: now, poll_interval: interval })
        .where('id', '=', id)
        .where('last_polled_at', previous === null ? 'is' : '=', previous)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    async redeem({ id, clientId, now, tokens }) {
      // SQLite: one transaction, shared with concurrent requests' writes when there is a group.
      const work = async (tx: Transaction<Database>) => {
        const spent = await tx
          .updateTable('device_codes')
          .set({ consumed_at: now })
          .where('id', '=', id)
          .where('client_id', '=', clientId)
          .where('status', '=', 'approved')
          .where('consumed_at', 'is', null)
          .where('expires_at', '>', now)
          .returningAll()
          .executeTakeFirst();
        if (spent) await insertTokens(tokens, tx);
        return spent;
      };
      const row = await (group ? group.run(work) : db.transaction().execute(work));
      return row && toDeviceCode(row);
    },
  };
}
