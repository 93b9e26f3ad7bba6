import type { Kysely, Selectable } from 'kysely';
import { type Api, type ApiPatch, type ApiStore, ConflictError } from '../types.js';
import { flag, isSet, isUniqueViolation, splitScopes } from './codec.js';
import type { ApisTable, Database } from './schema.js';

function toApi(row: Selectable<ApisTable>): Api {
  const format = row.access_token_format;
  return {
    id: row.id,
    identifier: row.identifier,
    name: row.name,
    scopes: splitScopes(row.scopes),
    accessTokenFormat: format === 'jwt' || format === 'opaque' ? format : null,
    accessTokenTtl: row.access_token_ttl === null ? null : Number(row.access_token_ttl),
    openToSelfRegistered: isSet(row.open_to_self_registered),
    clientId: row.client_id,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

function toColumns(patch: ApiPatch): Partial<ApisTable> {
  const row: Partial<ApisTable> = {};
  if (patch.name !== undefined) row.name = patch.name;
  if (patch.scopes !== undefined) row.scopes = patch.scopes.join(' ');
  if (patch.accessTokenFormat !== undefined) row.access_token_format = patch.accessTokenFormat;
  if (patch.accessTokenTtl !== undefined) row.access_token_ttl = patch.accessTokenTtl;
  if (patch.openToSelfRegistered !== undefined) {
    row.open_to_self_registered = flag(patch.openToSelfRegistered);
  }
  return row;
}

/** The registered APIs; read whole by domain/apis.ts's cache, so never on a hot path. */
export function apiStore(db: Kysely<Database>): ApiStore {
  return {
    async create(api) {
      const row: ApisTable = {
        id: api.id,
        identifier: api.identifier,
        name: api.name,
        scopes: api.scopes.join(' '),
        access_token_format: api.accessTokenFormat,
        access_token_ttl: api.accessTokenTtl,
        open_to_self_registered: flag(api.openToSelfRegistered),
        client_id: api.clientId,
        created_at: api.createdAt,
        updated_at: api.createdAt,
      };
      try {
        await db.insertInto('apis').values(row).execute();
      } catch (error) {
        if (isUniqueViolation(error)) throw new ConflictError('identifier');
        throw error;
      }
      return toApi(row);
    },

    async findById(id) {
      const row = await db.selectFrom('apis').selectAll().where('id', '=', id).executeTakeFirst();
      return row && toApi(row);
    },

    async findByIdentifier(identifier) {
      const row = await db
        .selectFrom('apis')
        .selectAll()
        .where('identifier', '=', identifier)
        .executeTakeFirst();
      return row && toApi(row);
    },

    async list() {
      const rows = await db
        .selectFrom('apis')
        .selectAll()
        .orderBy('created_at')
        .orderBy('id')
        .execute();
      return rows.map(toApi);
    },

    async update(id, patch, now) {
      const row = await db
        .updateTable('apis')
        .set({ ...toColumns(patch), updated_at: now })
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirst();
      return row && toApi(row);
    },

    async delete(id) {
      return db.transaction().execute(async (tx) => {
        const api = await tx
          .selectFrom('apis')
          .select('client_id')
          .where('id', '=', id)
          .executeTakeFirst();
        if (!api) return false;
        await tx.deleteFrom('apis').where('id', '=', id).execute();
        // Its introspection client was never given a grant type: it holds no grants, codes or
        // tokens of its own, only the row.
        await tx.deleteFrom('tokens').where('client_id', '=', api.client_id).execute();
        await tx.deleteFrom('clients').where('id', '=', api.client_id).execute();
        return true;
      });
    },
  };
}
