import type { Kysely, Selectable } from 'kysely';
import type { TokenRecord, TokenStore } from '../types.js';
import { fromJson, toJson } from './codec.js';
import { precompiled } from './precompiled.js';
import {
  type Database,
  TOKEN_COLUMNS,
  type TokensTable,
  USER_COLUMNS,
  type UsersTable,
} from './schema.js';
import { toUser } from './users.js';

function toToken(row: Selectable<TokensTable>): TokenRecord {
  return {
    id: row.id,
    kind: row.kind === 'refresh' ? 'refresh' : 'access',
    format: row.format === 'opaque' ? 'opaque' : 'jwt',
    clientId: row.client_id,
    userId: row.user_id,
    grantId: row.grant_id,
    familyId: row.family_id,
    sessionId: row.session_id,
    scope: row.scope,
    audience: row.audience,
    authTime: row.auth_time,
    acr: row.acr,
    amr: fromJson(row.amr),
    claims: row.claims,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    familyExpiresAt: row.family_expires_at,
    rotatedAt: row.rotated_at,
    revokedAt: row.revoked_at,
  };
}

function toRow(token: TokenRecord): TokensTable {
  return {
    id: token.id,
    kind: token.kind,
    format: token.format,
    client_id: token.clientId,
    user_id: token.userId,
    grant_id: token.grantId,
    family_id: token.familyId,
    session_id: token.sessionId,
    scope: token.scope,
    audience: token.audience,
    auth_time: token.authTime,
    acr: token.acr,
    amr: toJson(token.amr),
    claims: token.claims,
    created_at: token.createdAt,
    expires_at: token.expiresAt,
    family_expires_at: token.familyExpiresAt,
    rotated_at: token.rotatedAt,
    revoked_at: token.revokedAt,
  };
}

const USER_ALIASES = USER_COLUMNS.map((c) => [c, `user__${c}`] as const);

/** The person's columns of a joined row, unprefixed: a plain loop, as this runs on every request. */
function userOf(row: Record<string, unknown>): UsersTable | undefined {
  if (row.user__id === null || row.user__id === undefined) return undefined;
  const user: Record<string, unknown> = {};
  for (const [column, alias] of USER_ALIASES) user[column] = row[alias];
  return user as unknown as UsersTable;
}

export function tokenStore(db: Kysely<Database>): TokenStore {
  // The token endpoint's own queries, compiled once (see precompiled.ts).
  const insertOne = precompiled(db, (param) =>
    db
      .insertInto('tokens')
      .values(Object.fromEntries(TOKEN_COLUMNS.map((c) => [c, param(c)])) as never),
  );
  const insertTwo = precompiled(db, (param) =>
    db
      .insertInto('tokens')
      .values(
        [0, 1].map((i) =>
          Object.fromEntries(TOKEN_COLUMNS.map((c) => [c, param(`${c}${i}`)])),
        ) as never,
      ),
  );
  const findById = precompiled(db, (param) =>
    db.selectFrom('tokens').selectAll().where('id', '=', param<string>('id')),
  );
  // A token with its person in one round trip: what /userinfo, /introspect and refresh need.
  const findWithUserById = precompiled(db, (param) =>
    db
      .selectFrom('tokens')
      .leftJoin('users', 'users.id', 'tokens.user_id')
      .selectAll('tokens')
      .select(USER_COLUMNS.map((c) => `users.${c} as user__${c}` as const))
      .where('tokens.id', '=', param<string>('id')),
  );
  const rotateActive = precompiled(db, (param) =>
    db
      .updateTable('tokens')
      .set({ rotated_at: param<number>('now') })
      .where('id', '=', param<string>('id'))
      .where('kind', '=', 'refresh')
      .where('rotated_at', 'is', null)
      .where('revoked_at', 'is', null)
      .returningAll(),
  );

  return {
    async save(token) {
      await insertOne(toRow(token) as unknown as Record<string, unknown>);
    },

    async saveAll(tokens) {
      if (tokens.length === 2) {
        const values: Record<string, unknown> = {};
        tokens.forEach((token, i) => {
          for (const [column, value] of Object.entries(toRow(token)))
            values[`${column}${i}`] = value;
        });
        await insertTwo(values);
      } else if (tokens.length > 0) {
        await db.insertInto('tokens').values(tokens.map(toRow)).execute();
      }
    },

    async find(id) {
      const row = (await findById({ id })).rows[0];
      return row && toToken(row);
    },

    async findWithUser(id) {
      const row = (await findWithUserById({ id })).rows[0] as
        | (Selectable<TokensTable> & Record<string, unknown>)
        | undefined;
      if (!row) return undefined;
      const user = userOf(row);
      return { token: toToken(row), user: user && toUser(user) };
    },

    async rotate(id, now) {
      const row = (await rotateActive({ id, now })).rows[0];
      if (row) return { status: 'rotated', token: toToken(row) };
      const existing = await db
        .selectFrom('tokens')
        .selectAll()
        .where('id', '=', id)
        .where('kind', '=', 'refresh')
        .executeTakeFirst();
      return existing ? { status: 'stale', token: toToken(existing) } : { status: 'missing' };
    },

    async revoke(id, now) {
      const result = await db
        .updateTable('tokens')
        .set({ revoked_at: now })
        .where('id', '=', id)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },

    async revokeUnstored(token, now) {
      await db
        .insertInto('tokens')
        .values(toRow({ ...token, rotatedAt: null, revokedAt: now }))
        .onConflict((oc) => oc.column('id').doNothing())
        .execute();
    },

    async revokeRefreshTokensOfClient(clientId, now) {
      const result = await db
        .updateTable('tokens')
        .set({ revoked_at: now })
        .where('client_id', '=', clientId)
        .where('kind', '=', 'refresh')
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows);
    },

    async revokeFamily(familyId, now) {
      const result = await db
        .updateTable('tokens')
        .set({ revoked_at: now })
        .where('family_id', '=', familyId)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows);
    },
  };
}
