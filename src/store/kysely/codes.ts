import type { Kysely, Selectable } from 'kysely';
import type { AuthorizationCode, CodeStore } from '../types.js';
import { fromJson, toJson } from './codec.js';
import { precompiled } from './precompiled.js';
import type { CodesTable, Database } from './schema.js';

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
    created_at: code.createdAt,
    expires_at: code.expiresAt,
    consumed_at: null,
  };
}

const COLUMNS = Object.keys(toRow({} as AuthorizationCode)) as (keyof CodesTable)[];

export function codeStore(db: Kysely<Database>): CodeStore {
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
  const consumeOwn = precompiled(db, (param) =>
    db
      .updateTable('authorization_codes')
      .set({ consumed_at: param<number>('now') })
      .where('id', '=', param<string>('id'))
      .where('client_id', '=', param<string>('clientId'))
      .where('consumed_at', 'is', null)
      .where('expires_at', '>', param<number>('now'))
      .returningAll(),
  );
  return {
    async save(code) {
      await insert(toRow(code) as unknown as Record<string, unknown>);
    },

    async consume(id, now, clientId) {
      // One conditional UPDATE: of any number of concurrent callers exactly one gets the row.
      const row = (
        await (clientId === undefined
          ? consumeFresh({ id, now })
          : consumeOwn({ id, now, clientId }))
      ).rows[0];
      if (row) return { status: 'consumed', code: toCode(row) };
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
    },
  };
}
