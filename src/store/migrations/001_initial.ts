import type { Kysely, Migration } from 'kysely';
import type { Dialect } from './index.js';

// biome-ignore lint/suspicious/noExplicitAny: migrations run against whatever schema exists at the time
type Db = Kysely<any>;

export function initial(dialect: Dialect): Migration {
  return {
    async up(db: Db) {
      await db.schema
        .createTable('users')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('username', 'text', (c) => c.notNull())
        .addColumn('username_lower', 'text', (c) => c.notNull())
        .addColumn('email', 'text', (c) => c.notNull())
        .addColumn('email_lower', 'text', (c) => c.notNull())
        .addColumn('email_verified', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('password_hash', 'text')
        .addColumn('given_name', 'text')
        .addColumn('family_name', 'text')
        .addColumn('middle_name', 'text')
        .addColumn('nickname', 'text')
        .addColumn('picture', 'text')
        .addColumn('website', 'text')
        .addColumn('gender', 'text')
        .addColumn('birthdate', 'text')
        .addColumn('zoneinfo', 'text')
        .addColumn('locale', 'text')
        .addColumn('phone_number', 'text')
        .addColumn('phone_number_verified', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('address', 'text')
        .addColumn('role', 'text', (c) => c.notNull().defaultTo('user'))
        .addColumn('two_factor', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('users_username_uq')
        .on('users')
        .column('username_lower')
        .unique()
        .execute();
      await db.schema
        .createIndex('users_email_uq')
        .on('users')
        .column('email_lower')
        .unique()
        .execute();
      await db.schema.createIndex('users_created_idx').on('users').column('created_at').execute();

      await db.schema
        .createTable('clients')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('contact_email', 'text')
        .addColumn('secret_hash', 'text')
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('redirect_uris', 'text', (c) => c.notNull())
        .addColumn('post_logout_redirect_uris', 'text', (c) => c.notNull().defaultTo('[]'))
        .addColumn('grant_types', 'text', (c) => c.notNull())
        .addColumn('response_types', 'text', (c) => c.notNull())
        .addColumn('scopes', 'text', (c) => c.notNull())
        .addColumn('token_endpoint_auth_method', 'text', (c) => c.notNull())
        .addColumn('access_token_format', 'text', (c) => c.notNull().defaultTo('jwt'))
        .addColumn('id_token_signed_response_alg', 'text', (c) => c.notNull().defaultTo('RS256'))
        .addColumn('userinfo_signed_response_alg', 'text')
        .addColumn('backchannel_logout_uri', 'text')
        .addColumn('default_max_age', 'integer')
        .addColumn('require_auth_time', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('first_party', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('require_pkce', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('grants')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('client_id', 'text', (c) => c.notNull())
        .addColumn('scopes', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addColumn('last_used_at', 'bigint')
        .execute();
      await db.schema
        .createIndex('grants_user_client_uq')
        .on('grants')
        .columns(['user_id', 'client_id'])
        .unique()
        .execute();
      await db.schema.createIndex('grants_client_idx').on('grants').column('client_id').execute();

      await db.schema
        .createTable('authorization_codes')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('family_id', 'text', (c) => c.notNull())
        .addColumn('grant_id', 'text', (c) => c.notNull())
        .addColumn('client_id', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('redirect_uri', 'text', (c) => c.notNull())
        .addColumn('scope', 'text', (c) => c.notNull())
        .addColumn('code_challenge', 'text')
        .addColumn('code_challenge_method', 'text')
        .addColumn('nonce', 'text')
        .addColumn('session_id', 'text')
        .addColumn('auth_time', 'bigint', (c) => c.notNull())
        .addColumn('acr', 'text')
        .addColumn('amr', 'text')
        .addColumn('claims', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('consumed_at', 'bigint')
        .execute();
      await db.schema
        .createIndex('codes_expires_idx')
        .on('authorization_codes')
        .column('expires_at')
        .execute();
      await db.schema
        .createIndex('codes_grant_idx')
        .on('authorization_codes')
        .column('grant_id')
        .execute();
      await db.schema
        .createIndex('codes_user_idx')
        .on('authorization_codes')
        .column('user_id')
        .execute();
      await db.schema
        .createIndex('codes_client_idx')
        .on('authorization_codes')
        .column('client_id')
        .execute();

      await db.schema
        .createTable('tokens')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('format', 'text', (c) => c.notNull())
        .addColumn('client_id', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text')
        .addColumn('grant_id', 'text')
        .addColumn('family_id', 'text')
        .addColumn('session_id', 'text')
        .addColumn('scope', 'text', (c) => c.notNull())
        .addColumn('audience', 'text')
        .addColumn('auth_time', 'bigint')
        .addColumn('acr', 'text')
        .addColumn('amr', 'text')
        .addColumn('claims', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('family_expires_at', 'bigint')
        .addColumn('rotated_at', 'bigint')
        .addColumn('revoked_at', 'bigint')
        .execute();
      await db.schema.createIndex('tokens_family_idx').on('tokens').column('family_id').execute();
      await db.schema.createIndex('tokens_grant_idx').on('tokens').column('grant_id').execute();
      await db.schema.createIndex('tokens_user_idx').on('tokens').column('user_id').execute();
      await db.schema.createIndex('tokens_client_idx').on('tokens').column('client_id').execute();
      await db.schema.createIndex('tokens_expires_idx').on('tokens').column('expires_at').execute();

      await db.schema
        .createTable('sessions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('secret_hash', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('auth_time', 'bigint', (c) => c.notNull())
        .addColumn('amr', 'text')
        .addColumn('acr', 'text')
        .addColumn('user_agent', 'text')
        .addColumn('ip', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('last_seen_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('ended_at', 'bigint')
        .execute();
      await db.schema
        .createIndex('sessions_secret_uq')
        .on('sessions')
        .column('secret_hash')
        .unique()
        .execute();
      await db.schema.createIndex('sessions_user_idx').on('sessions').column('user_id').execute();
      await db.schema
        .createIndex('sessions_expires_idx')
        .on('sessions')
        .column('expires_at')
        .execute();

      await db.schema
        .createTable('session_clients')
        .addColumn('session_id', 'text', (c) => c.notNull())
        .addColumn('client_id', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('session_clients_pk', ['session_id', 'client_id'])
        .execute();
      await db.schema
        .createIndex('session_clients_client_idx')
        .on('session_clients')
        .column('client_id')
        .execute();

      await db.schema
        .createTable('signing_keys')
        .addColumn('kid', 'text', (c) => c.primaryKey())
        .addColumn('alg', 'text', (c) => c.notNull())
        .addColumn('public_jwk', 'text', (c) => c.notNull())
        .addColumn('private_jwk', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('activates_at', 'bigint', (c) => c.notNull())
        .addColumn('retired_at', 'bigint')
        .addColumn('expires_at', 'bigint')
        .execute();

      await db.schema
        .createTable('audit_events')
        .addColumn('id', dialect === 'postgres' ? 'bigserial' : 'integer', (c) =>
          dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement(),
        )
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text')
        .addColumn('client_id', 'text')
        .addColumn('ip', 'text')
        .addColumn('details', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('audit_created_idx')
        .on('audit_events')
        .column('created_at')
        .execute();
      await db.schema.createIndex('audit_user_idx').on('audit_events').column('user_id').execute();
    },
  };
}
