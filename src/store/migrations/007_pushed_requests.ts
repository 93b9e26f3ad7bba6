import type { Kysely, Migration } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migrations run against whatever schema exists at the time
type Db = Kysely<any>;

/**
 * Issue 12: pushed authorization requests (RFC 9126).
 * - pushed_requests: the requests clients push to /par, by a hash of their request_uri, until
 *   /authorize starts them (single use) and the person's flow finishes them;
 * - clients.require_pushed_authorization_requests: a client whose requests must come through /par.
 */
export const pushedRequests: Migration = {
  async up(db: Db) {
    await db.schema
      .createTable('pushed_requests')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('client_id', 'text', (c) => c.notNull())
      .addColumn('parameters', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .addColumn('started_at', 'bigint')
      .addColumn('finished_at', 'bigint')
      .execute();
    await db.schema
      .createIndex('pushed_requests_expires_idx')
      .on('pushed_requests')
      .column('expires_at')
      .execute();
    await db.schema
      .createIndex('pushed_requests_client_idx')
      .on('pushed_requests')
      .column('client_id')
      .execute();
    await db.schema
      .alterTable('clients')
      .addColumn('require_pushed_authorization_requests', 'integer', (c) =>
        c.notNull().defaultTo(0),
      )
      .execute();
  },
};
