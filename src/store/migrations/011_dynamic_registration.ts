import type { Kysely, Migration } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migrations run against whatever schema exists at the time
type Db = Kysely<any>;

/**
 * Issue 13: dynamic client registration (RFC 7591, RFC 7592).
 * - registration_tokens: the initial access tokens an admin issues (TESSERA_REGISTRATION=token),
 *   by the SHA-256 of their value, with an optional expiry and number of uses left;
 * - client_registrations: for each client that registered itself, the SHA-256 of its
 *   registration access token (RFC 7592) and its OpenID `application_type`.
 */
export const dynamicRegistration: Migration = {
  async up(db: Db) {
    await db.schema
      .createTable('registration_tokens')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('token_hash', 'text', (c) => c.notNull().unique())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint')
      .addColumn('uses_left', 'integer')
      .execute();
    await db.schema
      .createTable('client_registrations')
      .addColumn('client_id', 'text', (c) => c.primaryKey())
      .addColumn('access_token_hash', 'text', (c) => c.notNull().unique())
      .addColumn('application_type', 'text', (c) => c.notNull().defaultTo('web'))
      .execute();
  },
};
