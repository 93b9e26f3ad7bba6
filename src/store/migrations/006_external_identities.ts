import type { Kysely, Migration } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migrations run against whatever schema exists at the time
type Db = Kysely<any>;

/**
 * Issue 12, token exchange (RFC 8693):
 * - external_identities: a person's account at a trusted OpenID provider (`iss` + `sub`),
 *   linked by an admin to their local account, so that the provider's ID token can be exchanged;
 * - tokens.act: the `act` claim of an exchanged token, for introspection of opaque tokens;
 * - clients.token_exchange_*: which audiences, subject token types and trusted issuers a client
 *   may use in an exchange (JSON lists).
 */
export const externalIdentities: Migration = {
  async up(db: Db) {
    await db.schema
      .createTable('external_identities')
      .addColumn('issuer', 'text', (c) => c.notNull())
      .addColumn('subject', 'text', (c) => c.notNull())
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('external_identities_pk', ['issuer', 'subject'])
      .execute();
    await db.schema
      .createIndex('external_identities_user_idx')
      .on('external_identities')
      .column('user_id')
      .execute();
    await db.schema.alterTable('tokens').addColumn('act', 'text').execute();
    await db.schema
      .alterTable('clients')
      .addColumn('token_exchange_audiences', 'text', (c) => c.notNull().defaultTo('[]'))
      .execute();
    await db.schema
      .alterTable('clients')
      .addColumn('token_exchange_subject_token_types', 'text', (c) =>
        c.notNull().defaultTo('["urn:ietf:params:oauth:token-type:access_token"]'),
      )
      .execute();
    await db.schema
      .alterTable('clients')
      .addColumn('token_exchange_trusted_issuers', 'text', (c) => c.notNull().defaultTo('[]'))
      .execute();
  },
};
