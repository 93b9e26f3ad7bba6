import type { Kysely, Migration } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migrations run against whatever schema exists at the time
type Db = Kysely<any>;

/**
 * Issue 14, password reset: one row per link mailed by "Forgot password?", found by the SHA-256
 * of its token (the token itself is only in the mail), spent once by setting `used_at`.
 */
export const passwordResets: Migration = {
  async up(db: Db) {
    await db.schema
      .createTable('password_resets')
      .addColumn('token_hash', 'text', (c) => c.primaryKey())
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .addColumn('used_at', 'bigint')
      .execute();
    await db.schema
      .createIndex('password_resets_user_idx')
      .on('password_resets')
      .column('user_id')
      .execute();
    await db.schema
      .createIndex('password_resets_expires_idx')
      .on('password_resets')
      .column('expires_at')
      .execute();
  },
};
