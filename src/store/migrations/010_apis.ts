import type { Kysely, Migration } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migrations run against whatever schema exists at the time
type Db = Kysely<any>;

/**
 * Issue 13: APIs (resource servers) and resource indicators (RFC 8707). `apis` holds each API;
 * clients say which APIs they may use; codes and device codes carry the resources their
 * authorization request named. (Refresh tokens carry theirs in `tokens.audience`; pushed
 * requests keep theirs among their parameters.)
 */
export const apis: Migration = {
  async up(db: Db) {
    await db.schema
      .createTable('apis')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('identifier', 'text', (c) => c.notNull().unique())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('scopes', 'text', (c) => c.notNull())
      .addColumn('access_token_format', 'text')
      .addColumn('access_token_ttl', 'integer')
      .addColumn('open_to_self_registered', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('client_id', 'text', (c) => c.notNull().references('clients.id'))
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .alterTable('clients')
      .addColumn('allowed_resources', 'text', (c) => c.notNull().defaultTo('[]'))
      .execute();
    await db.schema
      .alterTable('authorization_codes')
      .addColumn('resources', 'text', (c) => c.notNull().defaultTo('[]'))
      .execute();
    await db.schema
      .alterTable('device_codes')
      .addColumn('resources', 'text', (c) => c.notNull().defaultTo('[]'))
      .execute();
  },
};
