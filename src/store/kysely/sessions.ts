import type { Kysely, Selectable } from 'kysely';
import type { Dialect } from '../migrations/index.js';
import type { Session, SessionGuard, SessionStore } from '../types.js';
import { fromJson, toJson } from './codec.js';
import { precompiled } from './precompiled.js';
import type { Database, SessionsTable } from './schema.js';

function toSession(row: Selectable<SessionsTable>): Session {
  return {
    id: row.id,
    secretHash: row.secret_hash,
    userId: row.user_id,
    authTime: row.auth_time,
    amr: fromJson(row.amr),
    acr: row.acr,
    userAgent: row.user_agent,
    ip: row.ip,
    createdAt: row.created_at,
    lastSeenAt: row.last_seen_at,
    expiresAt: row.expires_at,
    endedAt: row.ended_at,
  };
}

/**
 * Whether the person's password hash is still the one the sign-in verified. On PostgreSQL the
 * row is share-locked until the transaction ends, so a password change either waits for the new
 * session (and then ends it) or is seen here; SQLite's transactions take the write lock first.
 */
async function guardHolds(
  tx: Kysely<Database>,
  dialect: Dialect,
  userId: string,
  guard: SessionGuard,
): Promise<boolean> {
  const row = await tx
    .selectFrom('users')
    .select('password_hash')
    .where('id', '=', userId)
    .$if(dialect === 'postgres', (q) => q.forShare())
    .executeTakeFirst();
  return row?.password_hash === guard.passwordHash;
}

export function sessionStore(db: Kysely<Database>, dialect: Dialect): SessionStore {
  const activeBySecret = precompiled(db, (param) =>
    db
      .selectFrom('sessions')
      .selectAll()
      .where('secret_hash', '=', param<string>('secretHash'))
      .where('ended_at', 'is', null)
      .where('expires_at', '>', param<number>('now')),
  );
  return {
    async create(session, guard) {
      const insert = (tx: Kysely<Database>) =>
        tx
          .insertInto('sessions')
          .values({
            id: session.id,
            secret_hash: session.secretHash,
            user_id: session.userId,
            auth_time: session.authTime,
            amr: toJson(session.amr),
            acr: session.acr,
            user_agent: session.userAgent,
            ip: session.ip,
            created_at: session.createdAt,
            last_seen_at: session.lastSeenAt,
            expires_at: session.expiresAt,
            ended_at: null,
          })
          .execute();
      if (!guard) {
        await insert(db);
        return true;
      }
      return db.transaction().execute(async (tx) => {
        if (!(await guardHolds(tx, dialect, session.userId, guard))) return false;
        await insert(tx);
        return true;
      });
    },

    async renew(id, renewal, guard) {
      return db.transaction().execute(async (tx) => {
        const current = await tx
          .selectFrom('sessions')
          .select('user_id')
          .where('id', '=', id)
          .where('ended_at', 'is', null)
          .executeTakeFirst();
        if (!current) return undefined;
        if (guard && !(await guardHolds(tx, dialect, current.user_id, guard))) return undefined;
        const row = await tx
          .updateTable('sessions')
          .set({
            secret_hash: renewal.secretHash,
            auth_time: renewal.authTime,
            amr: toJson(renewal.amr),
            acr: renewal.acr,
            user_agent: renewal.userAgent,
            ip: renewal.ip,
            last_seen_at: renewal.lastSeenAt,
            expires_at: renewal.expiresAt,
          })
          .where('id', '=', id)
          .where('ended_at', 'is', null)
          .returningAll()
          .executeTakeFirst();
        return row && toSession(row);
      });
    },

    async findActiveBySecret(secretHash, now) {
      const row = (await activeBySecret({ secretHash, now })).rows[0];
      return row && toSession(row);
    },

    async findById(id) {
      const row = await db
        .selectFrom('sessions')
        .selectAll()
        .where('id', '=', id)
        .executeTakeFirst();
      return row && toSession(row);
    },

    async touch(id, now) {
      await db.updateTable('sessions').set({ last_seen_at: now }).where('id', '=', id).execute();
    },

    async end(id, now) {
      return db.transaction().execute(async (tx) => {
        const result = await tx
          .updateTable('sessions')
          .set({ ended_at: now })
          .where('id', '=', id)
          .where('ended_at', 'is', null)
          .executeTakeFirst();
        if (result.numUpdatedRows === 0n) return false;
        // Tokens granted offline_access were stored without the session (see issue.ts).
        await tx
          .updateTable('tokens')
          .set({ revoked_at: now })
          .where('session_id', '=', id)
          .where('revoked_at', 'is', null)
          .execute();
        // A code not yet exchanged is worthless now; a spent one stays, to recognise a replay.
        await tx
          .deleteFrom('authorization_codes')
          .where('session_id', '=', id)
          .where('consumed_at', 'is', null)
          .execute();
        return true;
      });
    },

    async listExpiredUnended(now, limit) {
      const rows = await db
        .selectFrom('sessions')
        .selectAll()
        .where('ended_at', 'is', null)
        .where('expires_at', '<=', now)
        .orderBy('expires_at')
        .limit(limit)
        .execute();
      return rows.map(toSession);
    },

    async listActiveForUser(userId, now) {
      const rows = await db
        .selectFrom('sessions')
        .selectAll()
        .where('user_id', '=', userId)
        .where('ended_at', 'is', null)
        .where('expires_at', '>', now)
        .orderBy('created_at', 'desc')
        .execute();
      return rows.map(toSession);
    },

    async addClient(sessionId, clientId, now) {
      // Pairs already stored are known in memory, with the other sign-in records (sign-in-cache.ts).
      await db
        .insertInto('session_clients')
        .values({ session_id: sessionId, client_id: clientId, created_at: now })
        .onConflict((oc) => oc.columns(['session_id', 'client_id']).doNothing())
        .execute();
    },

    async listClients(sessionId) {
      const rows = await db
        .selectFrom('session_clients')
        .select('client_id')
        .where('session_id', '=', sessionId)
        .execute();
      return rows.map((row) => row.client_id);
    },
  };
}
