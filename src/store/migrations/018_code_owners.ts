import type { Kysely, Migration } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migrations run against whatever schema exists at the time
type Db = Kysely<any>;

/**
 * Review of issue 14: a verification code belongs to the account it was sent for, not only to
 * its address, since two accounts may wait to verify the same new address and one's code must
 * neither replace nor take over the other's. `owner_key` is the account's id for `verify_email`
 * codes and '' for the others (one live code per purpose and address, as before); the unique key
 * becomes (purpose, address_key, owner_key). A column rather than user_id itself, since NULLs are
 * distinct in a unique index and codes of addresses without an account have none.
 */
export const codeOwners: Migration = {
  async up(db: Db) {
    await db.schema
      .alterTable('email_codes')
      .addColumn('owner_key', 'text', (c) => c.notNull().defaultTo(''))
      .execute();
    await db
      .updateTable('email_codes')
      .set((eb) => ({ owner_key: eb.ref('user_id') }))
      .where('purpose', '=', 'verify_email')
      .where('user_id', 'is not', null)
      .execute();
    await db.schema.dropIndex('email_codes_address_uq').execute();
    await db.schema
      .createIndex('email_codes_owner_uq')
      .on('email_codes')
      .columns(['purpose', 'address_key', 'owner_key'])
      .unique()
      .execute();
  },
};
