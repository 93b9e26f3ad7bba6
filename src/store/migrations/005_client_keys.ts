import type { Kysely, Migration } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migrations run against whatever schema exists at the time
type Db = Kysely<any>;

/**
 * Issue 12: clients that authenticate with JWTs (RFC 7523 §2.2, OpenID Connect Core §9) and
 * service accounts of the JWT bearer grant (RFC 7523 §2.1).
 * - clients.jwks / jwks_uri: the client's public keys, inline or where it publishes them;
 * - clients.token_endpoint_auth_signing_alg: the one alg its assertions may use (optional);
 * - clients.secret_sealed: the secret of a client_secret_jwt client, sealed under the instance
 *   secret, since checking an HMAC needs the secret itself (the hash stays for the rest);
 * - clients.jwt_bearer_subjects: the people a service account may act for (JSON list of ids).
 */
export const clientKeys: Migration = {
  async up(db: Db) {
    await db.schema.alterTable('clients').addColumn('jwks', 'text').execute();
    await db.schema.alterTable('clients').addColumn('jwks_uri', 'text').execute();
    await db.schema
      .alterTable('clients')
      .addColumn('token_endpoint_auth_signing_alg', 'text')
      .execute();
    await db.schema.alterTable('clients').addColumn('secret_sealed', 'text').execute();
    await db.schema
      .alterTable('clients')
      .addColumn('jwt_bearer_subjects', 'text', (c) => c.notNull().defaultTo('[]'))
      .execute();
  },
};
