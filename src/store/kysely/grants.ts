import type { Kysely, Selectable } from 'kysely';
import { randomId } from '../../lib/random.js';
import type { Dialect } from '../migrations/index.js';
import type { Grant, GrantStore } from '../types.js';
import { list, splitScopes } from './codec.js';
import { precompiled } from './precompiled.js';
import type { Database, GrantsTable } from './schema.js';
import { touchThrottle } from './throttle.js';

function toGrant(row: Selectable<GrantsTable>): Grant {
  return {
    id: row.id,
    userId: row.user_id,
    clientId: row.client_id,
    scopes: splitScopes(row.scopes),
    claims: splitScopes(row.claims),
    resources: list(row.resources),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    lastUsedAt: row.last_used_at,
  };
}

export function grantStore(db: Kysely<Database>, dialect: Dialect): GrantStore {
  const worthWriting = touchThrottle();
  const byPair = precompiled(db, (param) =>
    db
      .selectFrom('grants')
      .selectAll()
      .where('user_id', '=', param<string>('userId'))
      .where('client_id', '=', param<string>('clientId')),
  );
  // A grant's resources are only ever added to, here in the store: no caller can drop an API
  // the person allowed while its tokens are out.
  const change: GrantStore['change'] = async (userId, clientId, now, changeOf) => {
    return db.transaction().execute(async (tx) => {
      // Locked on PostgreSQL until the commit; SQLite's transactions hold the write lock already.
      const read = () =>
        tx
          .selectFrom('grants')
          .selectAll()
          .where('user_id', '=', userId)
          .where('client_id', '=', clientId)
          .$if(dialect === 'postgres', (q) => q.forUpdate())
          .executeTakeFirst();
      let row = await read();
      if (!row) {
        const first = changeOf(undefined);
        if (!first) return undefined;
        const inserted = await tx
          .insertInto('grants')
          .values({
            id: randomId(),
            user_id: userId,
            client_id: clientId,
            scopes: first.scopes.join(' '),
            claims: first.claims.join(' '),
            resources: JSON.stringify([...new Set(first.resources ?? [])]),
            created_at: now,
            updated_at: now,
            last_used_at: null,
          })
          .onConflict((oc) => oc.columns(['user_id', 'client_id']).doNothing())
          .returningAll()
          .executeTakeFirst();
        if (inserted) return toGrant(inserted);
        // A concurrent first consent got there first (PostgreSQL waited for its commit): this
        // one changes that one's row instead.
        row = await read();
        if (!row) return undefined;
      }
      const current = toGrant(row);
      const next = changeOf(current);
      if (!next) return current;
      const updated = await tx
        .updateTable('grants')
        .set({
          scopes: next.scopes.join(' '),
          claims: next.claims.join(' '),
          resources: JSON.stringify([
            ...new Set([...current.resources, ...(next.resources ?? [])]),
          ]),
          updated_at: now,
        })
        .where('id', '=', row.id)
        .returningAll()
        .executeTakeFirstOrThrow();
      return toGrant(updated);
    });
  };

  return {
    async find(userId, clientId) {
      const row = (await byPair({ userId, clientId })).rows[0];
      return row && toGrant(row);
    },

    async findById(id) {
      const row = await db.selectFrom('grants').selectAll().where('id', '=', id).executeTakeFirst();
      return row && toGrant(row);
    },

    async upsert(userId, clientId, scopes, now, claims = [], resources = []) {
      // Through change, which keeps the resources stored and adds those given, in one step.
      const grant = await change(userId, clientId, now, () => ({ scopes, claims, resources }));
      if (!grant) throw new Error('the grant was deleted while it was written');
      return grant;
    },

    change,

    async touch(id, now) {
      if (!worthWriting(id, now)) return;
      await db.updateTable('grants').set({ last_used_at: now }).where('id', '=', id).execute();
    },

    async listForUser(userId) {
      const rows = await db
        .selectFrom('grants')
        .innerJoin('clients', 'clients.id', 'grants.client_id')
        .selectAll('grants')
        .select('clients.name as client_name')
        .where('grants.user_id', '=', userId)
        .orderBy('grants.created_at')
        .execute();
      return rows.map((row) => ({ ...toGrant(row), clientName: row.client_name }));
    },

    async revoke(id, now) {
      return db.transaction().execute(async (tx) => {
        // First: a device code being redeemed concurrently holds its row until its tokens are
        // committed, so they are seen (and revoked) below; one not yet redeemed is gone.
        await tx.deleteFrom('device_codes').where('grant_id', '=', id).execute();
        await tx
          .updateTable('tokens')
          .set({ revoked_at: now })
          .where('grant_id', '=', id)
          .where('revoked_at', 'is', null)
          .execute();
        await tx.deleteFrom('authorization_codes').where('grant_id', '=', id).execute();
        const result = await tx.deleteFrom('grants').where('id', '=', id).executeTakeFirst();
        return result.numDeletedRows > 0n;
      });
    },
  };
}
