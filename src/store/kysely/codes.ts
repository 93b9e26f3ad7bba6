import type { Kysely, Selectable, Transaction, UpdateQueryBuilder } from 'kysely';
import type { Dialect } from '../migrations/index.js';
import type { AuthorizationCode, CodeStore, ConsumeResult } from '../types.js';
import { fromJson, list, toJson } from './codec.js';
import type { CommitGroup } from './commit-group.js';
import { type Param, precompiled } from './precompiled.js';
import { type CodesTable, type Database, TOKEN_COLUMNS } from './schema.js';
import { perTokenCount, tokenInserter, tokenValues } from './tokens.js';
import { JOINED_USER_COLUMNS, joinedUser } from './users.js';

type Codes = 'authorization_codes';

function toCode(row: Selectable<CodesTable>): AuthorizationCode {
  return {
    id: row.id,
    familyId: row.family_id,
    grantId: row.grant_id,
    clientId: row.client_id,
    userId: row.user_id,
    redirectUri: row.redirect_uri,
    scope: row.scope,
    codeChallenge: row.code_challenge,
    codeChallengeMethod: row.code_challenge_method,
    nonce: row.nonce,
    sessionId: row.session_id,
    authTime: row.auth_time,
    acr: row.acr,
    amr: fromJson(row.amr),
    claims: row.claims,
    sessionExpiresAt: row.session_expires_at,
    dpopJkt: row.dpop_jkt ?? null,
    resources: list(row.resources ?? '[]'),
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    consumedAt: row.consumed_at,
  };
}

function toRow(code: AuthorizationCode): CodesTable {
  return {
    id: code.id,
    family_id: code.familyId,
    grant_id: code.grantId,
    client_id: code.clientId,
    user_id: code.userId,
    redirect_uri: code.redirectUri,
    scope: code.scope,
    code_challenge: code.codeChallenge,
    code_challenge_method: code.codeChallengeMethod,
    nonce: code.nonce,
    session_id: code.sessionId,
    auth_time: code.authTime,
    acr: code.acr,
    amr: toJson(code.amr),
    claims: code.claims,
    session_expires_at: code.sessionExpiresAt,
    dpop_jkt: code.dpopJkt,
    resources: JSON.stringify(code.resources ?? []),
    created_at: code.createdAt,
    expires_at: code.expiresAt,
    consumed_at: null,
  };
}

const COLUMNS = Object.keys(toRow({} as AuthorizationCode)) as (keyof CodesTable)[];

export function codeStore(db: Kysely<Database>, dialect: Dialect, group?: CommitGroup): CodeStore {
  const insert = precompiled(db, (param) =>
    db
      .insertInto('authorization_codes')
      .values(Object.fromEntries(COLUMNS.map((c) => [c, param(c)])) as never),
  );
  const consumeFresh = precompiled(db, (param) =>
    db
      .updateTable('authorization_codes')
      .set({ consumed_at: param<number>('now') })
      .where('id', '=', param<string>('id'))
      .where('consumed_at', 'is', null)
      .where('expires_at', '>', param<number>('now'))
      .returningAll(),
  );
  // The token endpoint's form: another client's code is not spent, so its own client can still use it.
  const spendOwn = (param: Param, query: UpdateQueryBuilder<Database, Codes, Codes, object>) =>
    query
      .set({ consumed_at: param<number>('now') })
      .where('id', '=', param<string>('id'))
      .where('client_id', '=', param<string>('clientId'))
      .where('consumed_at', 'is', null)
      .where('expires_at', '>', param<number>('now'))
      .returningAll();
  const consumeOwn = precompiled(db, (param) =>
    spendOwn(param, db.updateTable('authorization_codes')),
  );
  const findWithUserById = precompiled(db, (param) =>
    db
      .selectFrom('authorization_codes')
      .leftJoin('users', 'users.id', 'authorization_codes.user_id')
      .leftJoin('grants', 'grants.id', 'authorization_codes.grant_id')
      .leftJoin('sessions', 'sessions.id', 'authorization_codes.session_id')
      .selectAll('authorization_codes')
      .select(JOINED_USER_COLUMNS)
      .select([
        'grants.id as grant__id',
        'sessions.id as session__id',
        'sessions.ended_at as session__ended_at',
      ])
      .where('authorization_codes.id', '=', param<string>('id')),
  );
  const insertTokens = tokenInserter(db);
  // PostgreSQL: the code consumed and its tokens stored in one statement, one round trip and one
  // commit. Each token is inserted only if the update consumed the code; a concurrent exchange's
  // update waits for this one's commit, then finds the code consumed (and these tokens stored).
  const redeemAtOnce = perTokenCount(db, (param, count) => {
    let query = db.with('spent', (qb) => spendOwn(param, qb.updateTable('authorization_codes')));
    for (let i = 0; i < count; i++) {
      query = query.with(`issued${i}`, (qb) =>
        qb
          .insertInto('tokens')
          .columns(TOKEN_COLUMNS)
          .expression(
            qb
              .selectNoFrom((eb) => TOKEN_COLUMNS.map((c) => eb.val(param(`${c}${i}`)).as(c)))
              .where(({ exists, selectFrom, lit }) =>
                exists(selectFrom('spent').select(lit(1).as('one'))),
              ),
          ),
      ) as unknown as typeof query;
    }
    return query.selectFrom('spent').selectAll();
  });

  /** What became of a code this call did not consume, read afresh. */
  async function unspent(id: string, clientId: string | undefined): Promise<ConsumeResult> {
    const existing = await db
      .selectFrom('authorization_codes')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    if (!existing) return { status: 'missing' };
    // Whether another client's code was used or has expired is none of this client's business.
    if (clientId !== undefined && existing.client_id !== clientId)
      return { status: 'other_client' };
    if (existing.consumed_at !== null) return { status: 'reused', code: toCode(existing) };
    return { status: 'expired' };
  }

  return {
    async save(code) {
      const values = toRow(code) as unknown as Record<string, unknown>;
      // SQLite: in the commit group's next commit (commit-group.ts).
      await (group ? group.run((tx) => insert(values, tx)) : insert(values));
    },

    async consume(id, now, clientId) {
      // One conditional UPDATE: of any number of concurrent callers exactly one gets the row.
      const row = (
        await (clientId === undefined
          ? consumeFresh({ id, now })
          : consumeOwn({ id, now, clientId }))
      ).rows[0];
      return row ? { status: 'consumed', code: toCode(row) } : unspent(id, clientId);
    },

    async findWithUser(id) {
      const row = (await findWithUserById({ id })).rows[0] as
        | (Selectable<CodesTable> & Record<string, unknown>)
        | undefined;
      if (!row) return undefined;
      // Read from the database, not from any instance's memory: a session ended or a grant
      // revoked anywhere is seen here at once.
      const backed =
        row.grant__id != null &&
        (row.session_id === null || (row.session__id != null && row.session__ended_at == null));
      return { code: toCode(row), user: joinedUser(row), backed };
    },

    async redeem({ id, clientId, now, tokens }) {
      let row: Selectable<CodesTable> | undefined;
      if (tokens.length === 0) {
        row = (await consumeOwn({ id, now, clientId })).rows[0];
      } else if (dialect === 'postgres') {
        const values = { id, clientId, now, ...tokenValues(tokens) };
        row = (await redeemAtOnce(tokens.length, values)).rows[0];
      } else {
        // SQLite has no writes inside WITH: one transaction, begun IMMEDIATE (sqlite-busy.ts),
        // shared with concurrent requests' writes when there is a group.
        const work = async (tx: Transaction<Database>) => {
          const spent = (await consumeOwn({ id, now, clientId }, tx)).rows[0];
          if (spent) await insertTokens(tokens, tx);
          return spent;
        };
        row = await (group ? group.run(work) : db.transaction().execute(work));
      }
      return row ? { status: 'consumed', code: toCode(row) } : unspent(id, clientId);
    },
  };
}
