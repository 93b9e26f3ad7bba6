import { type Kysely, type Migration, sql } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migrations run against whatever schema exists at the time
type Db = Kysely<any>;

/**
 * Issue 9 (security review): what consent, sessions and single-use markers need.
 * - grants.claims: claim names a person consented to individually (the `claims` parameter);
 * - authorization_codes.session_expires_at: a session-bound refresh token ends with its session;
 * - clients.resource_server: a client allowed to introspect tokens meant for the default audience;
 * - used_markers: values accepted once (sign-in markers, consent forms), until they expire;
 * - locks: a row a transaction writes first, so that work such as key rotation runs one at a time
 *   across processes;
 * - an index to end a session's tokens in one statement, and offline refresh tokens released
 *   from the sessions they were issued in.
 */
export const security: Migration = {
  async up(db: Db) {
    await db.schema
      .alterTable('grants')
      .addColumn('claims', 'text', (c) => c.notNull().defaultTo(''))
      .execute();
    await db.schema
      .alterTable('authorization_codes')
      .addColumn('session_expires_at', 'bigint')
      .execute();
    await db.schema
      .alterTable('clients')
      .addColumn('resource_server', 'integer', (c) => c.notNull().defaultTo(0))
      .execute();
    await db.schema.createIndex('tokens_session_idx').on('tokens').column('session_id').execute();
    // From now on a refresh token granted offline_access belongs to no session (it outlives it);
    // those issued before are released from theirs, so that signing out does not revoke them.
    await db
      .updateTable('tokens')
      .set({ session_id: null })
      .where('kind', '=', 'refresh')
      .where(sql<boolean>`(' ' || scope || ' ') like '% offline_access %'`)
      .execute();
    await db.schema
      .createIndex('codes_session_idx')
      .on('authorization_codes')
      .column('session_id')
      .execute();
    await db.schema
      .createTable('used_markers')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('used_markers_expires_idx')
      .on('used_markers')
      .column('expires_at')
      .execute();
    await db.schema
      .createTable('locks')
      .addColumn('name', 'text', (c) => c.primaryKey())
      .addColumn('taken_at', 'bigint', (c) => c.notNull())
      .execute();
  },
};
