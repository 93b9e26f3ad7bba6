import type { Kysely } from 'kysely';
import type { TotpStore } from '../types.js';
import { isUniqueViolation } from './codec.js';
import type { Database } from './schema.js';

export function totpStore(db: Kysely<Database>): TotpStore {
  return {
    async find(userId) {
      const row = await db
        .selectFrom('user_totp')
        .selectAll()
        .where('user_id', '=', userId)
        .executeTakeFirst();
      return (
        row && {
          userId: row.user_id,
          secretSealed: row.secret_sealed,
          enabledAt: Number(row.enabled_at),
          lastStep: Number(row.last_step),
        }
      );
    },

    async enable(enrolment, recoveryCodeHashes) {
      try {
        await db.transaction().execute(async (tx) => {
          await tx
            .insertInto('user_totp')
            .values({
              user_id: enrolment.userId,
              secret_sealed: enrolment.secretSealed,
              enabled_at: enrolment.enabledAt,
              last_step: enrolment.lastStep,
            })
            .execute();
          // Codes of an earlier enrolment, turned off since, are gone already (disable); these
          // are the only ones.
          await tx.deleteFrom('recovery_codes').where('user_id', '=', enrolment.userId).execute();
          if (recoveryCodeHashes.length > 0) {
            await tx
              .insertInto('recovery_codes')
              .values(
                recoveryCodeHashes.map((hash) => ({
                  user_id: enrolment.userId,
                  code_hash: hash,
                  created_at: enrolment.enabledAt,
                  used_at: null,
                })),
              )
              .execute();
          }
        });
        return true;
      } catch (error) {
        // The primary key is the person: a second enrolment finds the first one in place.
        if (isUniqueViolation(error)) return false;
        throw error;
      }
    },

    async acceptStep(userId, step) {
      const result = await db
        .updateTable('user_totp')
        .set({ last_step: step })
        .where('user_id', '=', userId)
        .where('last_step', '<', step)
        .executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },

    async disable(userId) {
      return db.transaction().execute(async (tx) => {
        await tx.deleteFrom('recovery_codes').where('user_id', '=', userId).execute();
        const result = await tx
          .deleteFrom('user_totp')
          .where('user_id', '=', userId)
          .executeTakeFirst();
        return result.numDeletedRows > 0n;
      });
    },

    async replaceRecoveryCodes(userId, codeHashes, now) {
      await db.transaction().execute(async (tx) => {
        await tx.deleteFrom('recovery_codes').where('user_id', '=', userId).execute();
        if (codeHashes.length === 0) return;
        await tx
          .insertInto('recovery_codes')
          .values(
            codeHashes.map((hash) => ({
              user_id: userId,
              code_hash: hash,
              created_at: now,
              used_at: null,
            })),
          )
          .execute();
      });
    },

    async useRecoveryCode(userId, codeHash, now) {
      const result = await db
        .updateTable('recovery_codes')
        .set({ used_at: now })
        .where('user_id', '=', userId)
        .where('code_hash', '=', codeHash)
        .where('used_at', 'is', null)
        .executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },

    async countRecoveryCodes(userId) {
      const row = await db
        .selectFrom('recovery_codes')
        .select((eb) => eb.fn.countAll<number | string>().as('n'))
        .where('user_id', '=', userId)
        .where('used_at', 'is', null)
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
  };
}
