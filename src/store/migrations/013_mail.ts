import type { Kysely, Migration } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migrations run against whatever schema exists at the time
type Db = Kysely<any>;

/**
 * Issue 14: `mail_outbox` keeps the mails of a development instance (no SMTP, not production),
 * listed at /dev/outbox; `user_browsers` remembers, per person, the browsers (by the SHA-256 of
 * their `tessera_browser` cookie) they signed in from, so a sign-in from another one is noticed.
 */
export const mail: Migration = {
  async up(db: Db) {
    await db.schema
      .createTable('mail_outbox')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('to', 'text', (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('subject', 'text', (c) => c.notNull())
      .addColumn('text', 'text', (c) => c.notNull())
      .addColumn('html', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('mail_outbox_created_idx')
      .on('mail_outbox')
      .column('created_at')
      .execute();
    await db.schema
      .createTable('user_browsers')
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
      .addColumn('browser_hash', 'text', (c) => c.notNull())
      .addColumn('first_seen_at', 'bigint', (c) => c.notNull())
      .addColumn('last_seen_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('user_browsers_pk', ['user_id', 'browser_hash'])
      .execute();
  },
};
