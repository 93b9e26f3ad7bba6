import type { Kysely } from 'kysely';
import type { MarkerStore } from '../types.js';
import type { Database } from './schema.js';

export function markerStore(db: Kysely<Database>): MarkerStore {
  return {
    async use(id, expiresAt) {
      // The primary key lets the insert happen once, however many instances race for it.
      const result = await db
        .insertInto('used_markers')
        .values({ id, expires_at: expiresAt })
        .onConflict((oc) => oc.column('id').doNothing())
        .executeTakeFirst();
      return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
    },
  };
}
