import type { Kysely, Selectable } from 'kysely';
import type { InitialAccessToken, RegistrationRecord, RegistrationStore } from '../types.js';
import type { Database, RegistrationTokensTable } from './schema.js';

function toToken(row: Selectable<RegistrationTokensTable>): InitialAccessToken {
  return {
    id: row.id,
    tokenHash: row.token_hash,
    createdAt: Number(row.created_at),
    expiresAt: row.expires_at === null ? null : Number(row.expires_at),
    usesLeft: row.uses_left === null ? null : Number(row.uses_left),
  };
}

export function registrationStore(db: Kysely<Database>): RegistrationStore {
  return {
    async createInitialToken(token) {
      await db
        .insertInto('registration_tokens')
        .values({
          id: token.id,
          token_hash: token.tokenHash,
          created_at: token.createdAt,
          expires_at: token.expiresAt,
          uses_left: token.usesLeft,
        })
        .execute();
    },

    async listInitialTokens() {
      const rows = await db
        .selectFrom('registration_tokens')
        .selectAll()
        .orderBy('created_at')
        .orderBy('id')
        .execute();
      return rows.map(toToken);
    },

    async findInitialToken(tokenHash) {
      const row = await db
        .selectFrom('registration_tokens')
        .selectAll()
        .where('token_hash', '=', tokenHash)
        .executeTakeFirst();
      return row ? toToken(row) : undefined;
    },

    async spendInitialToken(tokenHash, now) {
      // One conditional UPDATE: the last use goes to exactly one of concurrent callers.
      const row = await db
        .updateTable('registration_tokens')
        .set((eb) => ({
          uses_left: eb
            .case()
            .when('uses_left', 'is', null)
            .then(null)
            .else(eb('uses_left', '-', 1))
            .end(),
        }))
        .where('token_hash', '=', tokenHash)
        .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
        .where((eb) => eb.or([eb('uses_left', 'is', null), eb('uses_left', '>', 0)]))
        .returningAll()
        .executeTakeFirst();
      return row ? toToken(row) : undefined;
    },

    async deleteInitialToken(id) {
      const result = await db
        .deleteFrom('registration_tokens')
        .where('id', '=', id)
        .executeTakeFirst();
      return result.numDeletedRows > 0n;
    },

    async saveRecord(record) {
      await db
        .insertInto('client_registrations')
        .values({
          client_id: record.clientId,
          access_token_hash: record.accessTokenHash,
          application_type: record.applicationType,
        })
        .execute();
    },

    async setApplicationType(clientId, applicationType) {
      const result = await db
        .updateTable('client_registrations')
        .set({ application_type: applicationType })
        .where('client_id', '=', clientId)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },

    async findRecord(clientId) {
      const row = await db
        .selectFrom('client_registrations')
        .selectAll()
        .where('client_id', '=', clientId)
        .executeTakeFirst();
      if (!row) return undefined;
      const record: RegistrationRecord = {
        clientId: row.client_id,
        accessTokenHash: row.access_token_hash,
        applicationType: row.application_type === 'native' ? 'native' : 'web',
      };
      return record;
    },
  };
}
