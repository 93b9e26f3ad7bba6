import type { Kysely, Selectable } from 'kysely';
import { ConflictError, type ExternalIdentity, type ExternalIdentityStore } from '../types.js';
import { isUniqueViolation } from './codec.js';
import type { Database, ExternalIdentitiesTable } from './schema.js';
import { toUser } from './users.js';

function toIdentity(row: Selectable<ExternalIdentitiesTable>): ExternalIdentity {
  return {
    issuer: row.issuer,
    subject: row.subject,
    userId: row.user_id,
    createdAt: row.created_at,
  };
}

export function externalIdentityStore(db: Kysely<Database>): ExternalIdentityStore {
  return {
    async link(identity) {
      try {
        await db
          .insertInto('external_identities')
          .values({
            issuer: identity.issuer,
            subject: identity.subject,
            user_id: identity.userId,
            created_at: identity.createdAt,
          })
          .execute();
      } catch (error) {
        // The primary key is (issuer, subject): one account elsewhere maps to one person here.
        if (isUniqueViolation(error)) throw new ConflictError('identity');
        throw error;
      }
      return identity;
    },

    async findUser(issuer, subject) {
      const row = await db
        .selectFrom('external_identities')
        .innerJoin('users', 'users.id', 'external_identities.user_id')
        .selectAll('users')
        .where('external_identities.issuer', '=', issuer)
        .where('external_identities.subject', '=', subject)
        .executeTakeFirst();
      return row && toUser(row);
    },

    async listForUser(userId) {
      const rows = await db
        .selectFrom('external_identities')
        .selectAll()
        .where('user_id', '=', userId)
        .orderBy('created_at')
        .orderBy('issuer')
        .orderBy('subject')
        .execute();
      return rows.map(toIdentity);
    },

    async unlink(userId, issuer, subject) {
      const result = await db
        .deleteFrom('external_identities')
        .where('user_id', '=', userId)
        .where('issuer', '=', issuer)
        .where('subject', '=', subject)
        .executeTakeFirst();
      return result.numDeletedRows > 0n;
    },
  };
}
