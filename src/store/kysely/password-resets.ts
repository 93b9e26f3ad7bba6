import type { Kysely, Selectable } from 'kysely';
import type { PasswordReset, PasswordResetStore } from '../types.js';
import type { Database, PasswordResetsTable } from './schema.js';

function toReset(row: Selectable<PasswordResetsTable>): PasswordReset {
  return {
    tokenHash: row.token_hash,
    userId: row.user_id,
    createdAt: Number(row.created_at),
    expiresAt: Number(row.expires_at),
    usedAt: row.used_at === null ? null : Number(row.used_at),
  };
}

export function passwordResetStore(db: Kysely<Database>): PasswordResetStore {
  return {
    async save(reset) {
      await db
        .insertInto('password_resets')
        .values({
          token_hash: reset.tokenHash,
          user_id: reset.userId,
          created_at: reset.createdAt,
          expires_at: reset.expiresAt,
          used_at: reset.usedAt,
        })
        .execute();
    },

    async findUsable(tokenHash, now) {
      const row = await db
        .selectFrom('password_resets')
        .selectAll()
        .where('token_hash', '=', tokenHash)
        .where('used_at', 'is', null)
        .where('expires_at', '>', now)
        .executeTakeFirst();
      return row && toReset(row);
    },

    async consume(tokenHash, now) {
      // One conditional UPDATE: of any number of concurrent callers exactly one gets the row.
      const row = await db
        .updateTable('password_resets')
        .set({ used_at: now })
        .where('token_hash', '=', tokenHash)
        .where('used_at', 'is', null)
        .where('expires_at', '>', now)
        .returningAll()
        .executeTakeFirst();
      return row && toReset(row);
    },

    async endAllOfUser(userId, now) {
      const result = await db
        .updateTable('password_resets')
        .set({ used_at: now })
        .where('user_id', '=', userId)
        .where('used_at', 'is', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows);
    },
  };
}
