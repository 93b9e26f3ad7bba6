import type { Kysely, Migration } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migrations run against whatever schema exists at the time
type Db = Kysely<any>;

/**
 * Issue 14, TOTP (RFC 6238) as a second factor:
 * - user_totp: a person's authenticator app, once confirmed by a first code: its secret sealed
 *   under the instance secret (lib/seal.ts; it must be read back to check codes), when it was
 *   turned on, and the last time step whose code was accepted (a code of that step or an older
 *   one is refused: RFC 6238 §5.2, one code, one use);
 * - recovery_codes: the ten single-use codes that stand in for the app, stored as an HMAC
 *   (never the code), each spent once (used_at).
 */
export const totp: Migration = {
  async up(db: Db) {
    await db.schema
      .createTable('user_totp')
      .addColumn('user_id', 'text', (c) => c.primaryKey().references('users.id'))
      .addColumn('secret_sealed', 'text', (c) => c.notNull())
      .addColumn('enabled_at', 'bigint', (c) => c.notNull())
      .addColumn('last_step', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('recovery_codes')
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
      .addColumn('code_hash', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('used_at', 'bigint')
      .addPrimaryKeyConstraint('recovery_codes_pk', ['user_id', 'code_hash'])
      .execute();
  },
};
