import type { Kysely, Migration } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migrations run against whatever schema exists at the time
type Db = Kysely<any>;

/**
 * Issue 12, DPoP (RFC 9449):
 * - tokens.jkt: the thumbprint of the key a token is bound to (an access token issued with a
 *   proof, a public client's refresh token), null when it is not bound;
 * - authorization_codes.dpop_jkt: the key the authorization request bound the code to (§10);
 * - clients.dpop_bound_access_tokens: the client must send a proof with every token request (§5.2).
 */
export const dpop: Migration = {
  async up(db: Db) {
    await db.schema.alterTable('tokens').addColumn('jkt', 'text').execute();
    await db.schema.alterTable('authorization_codes').addColumn('dpop_jkt', 'text').execute();
    await db.schema
      .alterTable('clients')
      .addColumn('dpop_bound_access_tokens', 'integer', (c) => c.notNull().defaultTo(0))
      .execute();
  },
};
