import type { Kysely, Migration } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migrations run against whatever schema exists at the time
type Db = Kysely<any>;

/**
 * Issue 13: clients.registration says how a client came to be: 'admin' (admin API, CLI),
 * 'dynamic' (RFC 7591 registration) or 'metadata_document' (a Client ID Metadata Document).
 */
export const clientRegistration: Migration = {
  async up(db: Db) {
    await db.schema
      .alterTable('clients')
      .addColumn('registration', 'text', (c) => c.notNull().defaultTo('admin'))
      .execute();
  },
};
