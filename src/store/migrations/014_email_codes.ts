import type { Kysely, Migration } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migrations run against whatever schema exists at the time
type Db = Kysely<any>;

/**
 * Issue 14: e-mailed codes (verification, sign-in, the one-time code API), and the address a
 * person has asked to change to, waiting there until they verify it.
 * - email_codes: one live code per purpose and address (the folded address, as users.email_lower
 *   is kept), with an HMAC of the code and, for verification links, the SHA-256 of a 32-byte
 *   token; tries counted in `attempts`, spent once by `consumed_at`.
 * - users.pending_email (and its folded form, to find the account by it).
 */
export const emailCodes: Migration = {
  async up(db: Db) {
    await db.schema
      .createTable('email_codes')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('purpose', 'text', (c) => c.notNull())
      .addColumn('address_key', 'text', (c) => c.notNull())
      .addColumn('user_id', 'text')
      .addColumn('code_hash', 'text', (c) => c.notNull())
      .addColumn('link_hash', 'text')
      .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .addColumn('consumed_at', 'bigint')
      .execute();
    await db.schema
      .createIndex('email_codes_address_uq')
      .on('email_codes')
      .columns(['purpose', 'address_key'])
      .unique()
      .execute();
    await db.schema
      .createIndex('email_codes_link_idx')
      .on('email_codes')
      .column('link_hash')
      .execute();
    await db.schema
      .createIndex('email_codes_expires_idx')
      .on('email_codes')
      .column('expires_at')
      .execute();
    await db.schema.alterTable('users').addColumn('pending_email', 'text').execute();
    await db.schema.alterTable('users').addColumn('pending_email_lower', 'text').execute();
    await db.schema
      .createIndex('users_pending_email_idx')
      .on('users')
      .column('pending_email_lower')
      .execute();
  },
};
