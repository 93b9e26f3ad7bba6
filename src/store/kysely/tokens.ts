import type {
  Compilable,
  Kysely,
  QueryResult,
  Selectable,
  Transaction,
  UpdateQueryBuilder,
} from 'kysely';
import type { Dialect } from '../migrations/index.js';
import type { TokenRecord, TokenStore } from '../types.js';
import { fromJson, toJson } from './codec.js';
import type { CommitGroup } from './commit-group.js';
import { type Param, precompiled } from './precompiled.js';
import { type Database, TOKEN_COLUMNS, type TokensTable } from './schema.js';
import { JOINED_USER_COLUMNS, joinedUser } from './users.js';

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
    act: row.act,
    jkt: row.jkt ?? null,
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
    act: token.act,
    jkt: token.jkt,
    created_at: token.createdAt,
    expires_at: token.expiresAt,
    family_expires_at: token.familyExpiresAt,
    rotated_at: token.rotatedAt,
    revoked_at: token.revokedAt,
  };
}

/** The `index`-th row of a multi-row statement, each column the parameter `<column><index>`. */
export function tokenParams(param: Param, index: number): Record<string, unknown> {
  return Object.fromEntries(TOKEN_COLUMNS.map((c) => [c, param(`${c}${index}`)]));
}

/** The values of tokenParams' parameters for these tokens, in order. */
export function tokenValues(tokens: TokenRecord[]): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  tokens.forEach((token, i) => {
    for (const [column, value] of Object.entries(toRow(token))) values[`${column}${i}`] = value;
  });
  return values;
}

/**
 * A statement whose shape depends on how many tokens it writes: compiled once for one and for two
 * (what a grant issues: a refresh token, with an opaque access token or not), built on the spot
 * for any other number.
 */
export function perTokenCount<R>(
  db: Kysely<Database>,
  build: (param: Param, count: number) => Compilable<R>,
): (
  count: number,
  values: Record<string, unknown>,
  executor?: Kysely<Database>,
) => Promise<QueryResult<R>> {
  const compiled = [1, 2].map((count) => precompiled(db, (param) => build(param, count)));
  return (count, values, executor = db) => {
    const run = compiled[count - 1];
    if (run) return run(values, executor);
    const value = <T>(name: string) => values[name] as T;
    return executor.executeQuery(build(value, count).compile());
  };
}

/** Stores tokens in one statement: all or none. */
export function tokenInserter(
  db: Kysely<Database>,
): (tokens: TokenRecord[], executor?: Kysely<Database>) => Promise<void> {
  const insert = perTokenCount(db, (param, count) =>
    db
      .insertInto('tokens')
      .values(Array.from({ length: count }, (_, i) => tokenParams(param, i)) as never),
  );
  return async (tokens, executor) => {
    if (tokens.length > 0) await insert(tokens.length, tokenValues(tokens), executor);
  };
}

export function tokenStore(
  db: Kysely<Database>,
  dialect: Dialect,
  group?: CommitGroup,
): TokenStore {
  // The token endpoint's own queries, compiled once (see precompiled.ts).
  const insertAll = tokenInserter(db);
  const findById = precompiled(db, (param) =>
    db.selectFrom('tokens').selectAll().where('id', '=', param<string>('id')),
  );
  // A token with its person in one round trip: what /userinfo, /introspect and refresh need.
  const findWithUserById = precompiled(db, (param) =>
    db
      .selectFrom('tokens')
      .leftJoin('users', 'users.id', 'tokens.user_id')
      .selectAll('tokens')
      .select(JOINED_USER_COLUMNS)
      .where('tokens.id', '=', param<string>('id')),
  );
  const spend = (param: Param, query: UpdateQueryBuilder<Database, 'tokens', 'tokens', object>) =>
    query
      .set({ rotated_at: param<number>('now') })
      .where('id', '=', param<string>('id'))
      .where('kind', '=', 'refresh')
      .where('rotated_at', 'is', null)
      .where('revoked_at', 'is', null)
      .returningAll();
  const rotateActive = precompiled(db, (param) => spend(param, db.updateTable('tokens')));
  // PostgreSQL: the successors inserted and the presented token spent in one statement, so one
  // round trip and one commit. Every part of a statement sees the same snapshot, and the update
  // waits for a concurrent rotation's commit, then finds the token rotated.
  const rotateWithSuccessors = perTokenCount(db, (param, count) =>
    spend(
      param,
      db
        .with('successors', (qb) =>
          qb
            .insertInto('tokens')
            .values(Array.from({ length: count }, (_, i) => tokenParams(param, i)) as never)
            .returning('id'),
        )
        .updateTable('tokens'),
    ),
  );

  /** Stores the successors and spends the token in one commit; the spent row, if this spent it. */
  async function spendAfterStoring(
    id: string,
    successors: TokenRecord[],
    now: number,
  ): Promise<Selectable<TokensTable> | undefined> {
    if (successors.length === 0) return (await rotateActive({ id, now })).rows[0];
    if (dialect === 'postgres') {
      const values = { id, now, ...tokenValues(successors) };
      return (await rotateWithSuccessors(successors.length, values)).rows[0];
    }
    // SQLite has no writes inside WITH: one transaction, begun IMMEDIATE (sqlite-busy.ts), shared
    // with concurrent requests' writes when there is a group.
    return inTransaction(async (tx) => {
      await insertAll(successors, tx);
      return (await rotateActive({ id, now }, tx)).rows[0];
    });
  }

  /** `work` in a transaction of its own, or in the commit group's next one. */
  function inTransaction<T>(work: (tx: Transaction<Database>) => Promise<T>): Promise<T> {
    return group ? group.run(work) : db.transaction().execute(work);
  }

  /** Tokens stored on their own: in the group's next commit on SQLite. */
  function store(tokens: TokenRecord[]): Promise<void> {
    return group ? group.run((tx) => insertAll(tokens, tx)) : insertAll(tokens);
  }

  return {
    async save(token) {
      await store([token]);
    },

    async saveAll(tokens) {
      await store(tokens);
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
      return { token: toToken(row), user: joinedUser(row) };
    },

    async rotate({ id, successors, now }) {
      const row = await spendAfterStoring(id, successors, now);
      if (row) return { status: 'rotated', token: toToken(row) };
      // Read afresh: on PostgreSQL the statement's snapshot predates the rotation that won.
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

    async revokeRefreshTokensOfUser(userId, now) {
      // By the user_id index; offline refresh tokens (no session) included.
      const result = await db
        .updateTable('tokens')
        .set({ revoked_at: now })
        .where('user_id', '=', userId)
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
