import type { Kysely, Migration } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migrations run against whatever schema exists at the time
type Db = Kysely<any>;

/**
 * The device authorization grant (RFC 8628): one row per device authorization request, found by
 * the hash of its device code (the device polling) or of its user code (the person typing it).
 * Same column types on both dialects.
 */
export const deviceCodes: Migration = {
  async up(db: Db) {
    await db.schema
      .createTable('device_codes')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('user_code_hash', 'text', (c) => c.notNull())
      .addColumn('client_id', 'text', (c) => c.notNull())
      .addColumn('scope', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('user_id', 'text')
      .addColumn('grant_id', 'text')
      .addColumn('auth_time', 'bigint')
      .addColumn('acr', 'text')
      .addColumn('amr', 'text')
      .addColumn('poll_interval', 'integer', (c) => c.notNull())
      .addColumn('last_polled_at', 'bigint')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .addColumn('consumed_at', 'bigint')
      .execute();
    // Unique: a fresh user code that collides with a live one is drawn again (oauth/device).
    await db.schema
      .createIndex('device_codes_user_code_uq')
      .on('device_codes')
      .column('user_code_hash')
      .unique()
      .execute();
    await db.schema
      .createIndex('device_codes_expires_idx')
      .on('device_codes')
      .column('expires_at')
      .execute();
  },
};
