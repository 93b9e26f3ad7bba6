import type { Kysely, Migration } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migrations run against whatever schema exists at the time
type Db = Kysely<any>;

/**
 * Issue 13: a grant remembers the APIs (RFC 8707 resources, by identifier, as a JSON array) the
 * person allowed the app to reach, so that a request naming another one asks them again.
 * Grants made before remember none: their next request naming an API shows the consent page.
 */
export const grantResources: Migration = {
  async up(db: Db) {
    await db.schema
      .alterTable('grants')
      .addColumn('resources', 'text', (c) => c.notNull().defaultTo('[]'))
      .execute();
  },
};
