import type { Adapter, AdapterPayload } from 'oidc-provider';
import pg from 'pg';

/*
 * oidc-provider's storage as its users run it in production: one PostgreSQL table of JSON
 * payloads keyed by model and id, in the shape of the adapters its documentation links to
 * (the knex/SQL examples), on a `pg` pool of 10. Every model (sessions, grants, codes, tokens)
 * is a row; expiry is checked on read, as those adapters do.
 */

let pool: pg.Pool | undefined;
let table = 'oidc_payloads';

/** Connects and creates the schema and table; called once before the provider is built. */
export async function openPgAdapter(url: string, schema: string): Promise<void> {
  pool = new pg.Pool({ connectionString: url, max: 10 });
  const quoted = `"${schema.replace(/"/g, '""')}"`;
  table = `${quoted}.oidc_payloads`;
  await pool.query(`CREATE SCHEMA IF NOT EXISTS ${quoted}`);
  await pool.query(`CREATE TABLE IF NOT EXISTS ${table} (
    model text NOT NULL,
    id text NOT NULL,
    payload jsonb NOT NULL,
    grant_id text,
    user_code text,
    uid text,
    expires_at timestamptz,
    consumed_at timestamptz,
    PRIMARY KEY (model, id)
  )`);
  await pool.query(`CREATE INDEX IF NOT EXISTS oidc_grant ON ${table} (grant_id)`);
  await pool.query(`CREATE INDEX IF NOT EXISTS oidc_uid ON ${table} (uid)`);
  await pool.query(`CREATE INDEX IF NOT EXISTS oidc_user_code ON ${table} (user_code)`);
}

export async function closePgAdapter(): Promise<void> {
  await pool?.end();
}

function db(): pg.Pool {
  if (!pool) throw new Error('openPgAdapter was not called');
  return pool;
}

interface Stored {
  payload: AdapterPayload;
  consumed_at: Date | null;
}

function payloadOf(row: Stored | undefined): AdapterPayload | undefined {
  if (!row) return undefined;
  return row.consumed_at
    ? { ...row.payload, consumed: Math.floor(row.consumed_at.getTime() / 1000) }
    : row.payload;
}

export class PgAdapter implements Adapter {
  constructor(private readonly model: string) {}

  async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
    await db().query(
      `INSERT INTO ${table} (model, id, payload, grant_id, user_code, uid, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (model, id) DO UPDATE SET payload = EXCLUDED.payload,
         grant_id = EXCLUDED.grant_id, user_code = EXCLUDED.user_code, uid = EXCLUDED.uid,
         expires_at = EXCLUDED.expires_at`,
      [
        this.model,
        id,
        payload,
        payload.grantId ?? null,
        payload.userCode ?? null,
        payload.uid ?? null,
        expiresIn ? new Date(Date.now() + expiresIn * 1000) : null,
      ],
    );
  }

  private async findBy(column: 'id' | 'uid' | 'user_code', value: string) {
    const { rows } = await db().query<Stored>(
      `SELECT payload, consumed_at FROM ${table}
       WHERE model = $1 AND ${column} = $2 AND (expires_at IS NULL OR expires_at > now())`,
      [this.model, value],
    );
    return payloadOf(rows[0]);
  }

  find(id: string): Promise<AdapterPayload | undefined> {
    return this.findBy('id', id);
  }

  findByUid(uid: string): Promise<AdapterPayload | undefined> {
    return this.findBy('uid', uid);
  }

  findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    return this.findBy('user_code', userCode);
  }

  async consume(id: string): Promise<void> {
    await db().query(`UPDATE ${table} SET consumed_at = now() WHERE model = $1 AND id = $2`, [
      this.model,
      id,
    ]);
  }

  async destroy(id: string): Promise<void> {
    await db().query(`DELETE FROM ${table} WHERE model = $1 AND id = $2`, [this.model, id]);
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    await db().query(`DELETE FROM ${table} WHERE grant_id = $1`, [grantId]);
  }
}

/** How many rows the table holds (every model together). */
export async function storedPgRows(): Promise<number> {
  const { rows } = await db().query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`);
  return Number(rows[0]?.n ?? 0);
}
