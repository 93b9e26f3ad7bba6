import type { Kysely, Selectable } from 'kysely';
import type { EmailCode, EmailCodePurpose, EmailCodeStore } from '../types.js';
import type { Database, EmailCodesTable } from './schema.js';

function toCode(row: Selectable<EmailCodesTable>): EmailCode {
  return {
    id: row.id,
    purpose: row.purpose as EmailCodePurpose,
    addressKey: row.address_key,
    userId: row.user_id,
    codeHash: row.code_hash,
    linkHash: row.link_hash,
    attempts: Number(row.attempts),
    createdAt: Number(row.created_at),
    expiresAt: Number(row.expires_at),
    consumedAt: row.consumed_at === null ? null : Number(row.consumed_at),
  };
}

/** Verification codes are kept per account (two may wait for one address); the others per address. */
const ownerKey = (purpose: EmailCodePurpose, userId: string | null | undefined): string =>
  purpose === 'verify_email' ? (userId ?? '') : '';

function toRow(code: EmailCode): EmailCodesTable {
  return {
    id: code.id,
    purpose: code.purpose,
    address_key: code.addressKey,
    user_id: code.userId,
    owner_key: ownerKey(code.purpose, code.userId),
    code_hash: code.codeHash,
    link_hash: code.linkHash,
    attempts: code.attempts,
    created_at: code.createdAt,
    expires_at: code.expiresAt,
    consumed_at: code.consumedAt,
  };
}

export function emailCodeStore(db: Kysely<Database>): EmailCodeStore {
  return {
    async replace(code) {
      const row = toRow(code);
      const { purpose: _p, address_key: _a, owner_key: _o, ...rest } = row;
      // One statement: two concurrent sends leave one code, never a unique-key failure.
      await db
        .insertInto('email_codes')
        .values(row)
        .onConflict((oc) => oc.columns(['purpose', 'address_key', 'owner_key']).doUpdateSet(rest))
        .execute();
    },

    async find(purpose, addressKey, userId) {
      const row = await db
        .selectFrom('email_codes')
        .selectAll()
        .where('purpose', '=', purpose)
        .where('address_key', '=', addressKey)
        .where('owner_key', '=', ownerKey(purpose, userId))
        .executeTakeFirst();
      return row && toCode(row);
    },

    async findByLink(linkHash, now) {
      const row = await db
        .selectFrom('email_codes')
        .selectAll()
        .where('link_hash', '=', linkHash)
        .where('consumed_at', 'is', null)
        .where('expires_at', '>', now)
        .executeTakeFirst();
      return row && toCode(row);
    },

    async addAttempt(id, max, now) {
      // The count and its limit in one conditional UPDATE: concurrent tries cannot read the same
      // count and each go ahead, so no more than `max` are ever made.
      const row = await db
        .updateTable('email_codes')
        .set((eb) => ({ attempts: eb('attempts', '+', 1) }))
        .where('id', '=', id)
        .where('attempts', '<', max)
        .where('consumed_at', 'is', null)
        .where('expires_at', '>', now)
        .returningAll()
        .executeTakeFirst();
      return row && toCode(row);
    },

    async consume(id, now) {
      const row = await db
        .updateTable('email_codes')
        .set({ consumed_at: now })
        .where('id', '=', id)
        .where('consumed_at', 'is', null)
        .where('expires_at', '>', now)
        .returningAll()
        .executeTakeFirst();
      return row && toCode(row);
    },

    async consumeLink(linkHash, now) {
      const row = await db
        .updateTable('email_codes')
        .set({ consumed_at: now })
        .where('link_hash', '=', linkHash)
        .where('consumed_at', 'is', null)
        .where('expires_at', '>', now)
        .returningAll()
        .executeTakeFirst();
      return row && toCode(row);
    },
  };
}
