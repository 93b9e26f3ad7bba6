import type { Kysely, Transaction } from 'kysely';
import type { KeyStore } from '../types.js';
import type { Database } from './schema.js';

const LOCK = 'signing_keys';

/** The signing keys on `db`, or inside a transaction that holds the rotation lock. */
function keysOn(db: Kysely<Database> | Transaction<Database>, root: Kysely<Database>): KeyStore {
  const store: KeyStore = {
    async exclusive(work) {
      if (db !== root) return work(store);
      return root.transaction().execute(async (tx) => {
        // Writing the lock row first takes SQLite's write lock (or this row's lock on PostgreSQL)
        // before anything is read, so a rotation elsewhere waits until this one has committed.
        await tx
          .insertInto('locks')
          .values({ name: LOCK, taken_at: Math.floor(Date.now() / 1000) })
          .onConflict((oc) =>
            oc.column('name').doUpdateSet({ taken_at: (eb) => eb.ref('excluded.taken_at') }),
          )
          .execute();
        return work(keysOn(tx, root));
      });
    },

    async list() {
      const rows = await db
        .selectFrom('signing_keys')
        .selectAll()
        .orderBy('created_at')
        .orderBy('kid')
        .execute();
      return rows.map((row) => ({
        kid: row.kid,
        alg: row.alg,
        publicJwk: row.public_jwk,
        privateJwk: row.private_jwk,
        createdAt: row.created_at,
        activatesAt: row.activates_at,
        retiredAt: row.retired_at,
        expiresAt: row.expires_at,
      }));
    },

    async insert(key) {
      await db
        .insertInto('signing_keys')
        .values({
          kid: key.kid,
          alg: key.alg,
          public_jwk: key.publicJwk,
          private_jwk: key.privateJwk,
          created_at: key.createdAt,
          activates_at: key.activatesAt,
          retired_at: key.retiredAt,
          expires_at: key.expiresAt,
        })
        .execute();
    },

    async activate(kid, at) {
      await db
        .updateTable('signing_keys')
        .set({ activates_at: at })
        .where('kid', '=', kid)
        .execute();
    },

    async retire(kid, retiredAt, expiresAt) {
      await db
        .updateTable('signing_keys')
        .set({ retired_at: retiredAt, expires_at: expiresAt })
        .where('kid', '=', kid)
        .execute();
    },
  };
  return store;
}

export function keyStore(db: Kysely<Database>): KeyStore {
  return keysOn(db, db);
}
