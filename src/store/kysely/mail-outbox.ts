import type { Kysely } from 'kysely';
import type { MailOutboxStore } from '../types.js';
import type { Database } from './schema.js';

export function mailOutboxStore(db: Kysely<Database>): MailOutboxStore {
  return {
    async add(mail) {
      await db
        .insertInto('mail_outbox')
        .values({
          id: mail.id,
          to: mail.to,
          kind: mail.kind,
          subject: mail.subject,
          text: mail.text,
          html: mail.html,
          created_at: mail.createdAt,
        })
        .execute();
    },

    async list(limit) {
      const rows = await db
        .selectFrom('mail_outbox')
        .selectAll()
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .limit(limit)
        .execute();
      return rows.map((row) => ({
        id: row.id,
        to: row.to,
        kind: row.kind,
        subject: row.subject,
        text: row.text,
        html: row.html,
        createdAt: Number(row.created_at),
      }));
    },
  };
}

/** Deletes outbox mails made before `before`, and all but the newest `keep`; returns how many. */
export async function purgeOutbox(
  db: Kysely<Database>,
  before: number,
  keep: number,
): Promise<number> {
  const old = await db
    .deleteFrom('mail_outbox')
    .where('created_at', '<', before)
    .executeTakeFirst();
  // The newest `keep` by the created_at index; anything older than the last of them goes.
  const edge = await db
    .selectFrom('mail_outbox')
    .select(['created_at', 'id'])
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .offset(keep)
    .limit(1)
    .executeTakeFirst();
  let over = 0n;
  if (edge) {
    const at = Number(edge.created_at);
    const result = await db
      .deleteFrom('mail_outbox')
      .where((eb) =>
        eb.or([
          eb('created_at', '<', at),
          eb.and([eb('created_at', '=', at), eb('id', '<=', edge.id)]),
        ]),
      )
      .executeTakeFirst();
    over = result.numDeletedRows;
  }
  return Number(old.numDeletedRows + over);
}
