import type { Kysely } from 'kysely';
import type { KnownBrowserStore } from '../types.js';
import type { Database } from './schema.js';

export function knownBrowserStore(db: Kysely<Database>): KnownBrowserStore {
  return {
    async see(userId, browserHash, now, keep) {
      return db.transaction().execute(async (tx) => {
        const touched = await tx
          .updateTable('user_browsers')
          .set({ last_seen_at: now })
          .where('user_id', '=', userId)
          .where('browser_hash', '=', browserHash)
          .executeTakeFirst();
        if (touched.numUpdatedRows > 0n) return 'known';
        const any = await tx
          .selectFrom('user_browsers')
          .select('browser_hash')
          .where('user_id', '=', userId)
          .limit(1)
          .executeTakeFirst();
        await tx
          .insertInto('user_browsers')
          .values({
            user_id: userId,
            browser_hash: browserHash,
            first_seen_at: now,
            last_seen_at: now,
          })
          // Two sign-ins of one browser at once: the second finds it remembered.
          .onConflict((oc) => oc.columns(['user_id', 'browser_hash']).doNothing())
          .execute();
        // The oldest go once there are more than `keep`: a person has only so many browsers.
        const kept = tx
          .selectFrom('user_browsers')
          .select('browser_hash')
          .where('user_id', '=', userId)
          .orderBy('last_seen_at', 'desc')
          .orderBy('browser_hash', 'desc')
          .limit(keep);
        await tx
          .deleteFrom('user_browsers')
          .where('user_id', '=', userId)
          .where('browser_hash', 'not in', kept)
          .execute();
        return any ? 'new' : 'first';
      });
    },
  };
}
