import type { Kysely, Migration } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migrations run against whatever schema exists at the time
type Db = Kysely<any>;

/** lib/fold.ts as it was when this migration was written: a migration must not change later. */
const fold = (value: string) => value.normalize('NFKC').toLowerCase().normalize('NFKC');

const BATCH = 1000;

/**
 * E-mail addresses became unique and looked up in their folded form (NFKC, case ignored)
 * instead of lower-cased only; rows written before keep working once their key is folded
 * too. Only addresses with compatibility characters change. When two existing accounts
 * fold to the same address, the later one keeps its old key: both keep signing in as
 * before, and nothing is refused half-way through a deploy.
 */
export function emailFold(): Migration {
  return {
    async up(db: Db) {
      const changes: { id: string; key: string }[] = [];
      for (let after = ''; ; ) {
        const rows: { id: string; email: string; email_lower: string }[] = await db
          .selectFrom('users')
          .select(['id', 'email', 'email_lower'])
          .where('id', '>', after)
          .orderBy('id')
          .limit(BATCH)
          .execute();
        for (const row of rows) {
          const key = fold(row.email);
          if (key !== row.email_lower) changes.push({ id: row.id, key });
        }
        if (rows.length < BATCH) break;
        after = rows[rows.length - 1]!.id;
      }
      // One by one, so that a clash with a row changed just before is seen too.
      for (const { id, key } of changes) {
        const taken = await db
          .selectFrom('users')
          .select('id')
          .where('email_lower', '=', key)
          .where('id', '!=', id)
          .executeTakeFirst();
        if (!taken)
          await db.updateTable('users').set({ email_lower: key }).where('id', '=', id).execute();
      }
    },
  };
}
