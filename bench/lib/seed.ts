import { randomBytes } from 'node:crypto';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { sha256 } from '../../src/lib/hash.js';
import {
  TOKEN_COLUMNS,
  type TokensTable,
  USER_COLUMNS,
  type UsersTable,
} from '../../src/store/kysely/schema.js';
import type { IdTokenAlg, TesseraFixtures } from '../servers/fixtures.js';
import { REFRESH_SCOPE } from '../servers/fixtures.js';

/*
 * Bulk writes straight into Tessera's tables, for what would take minutes
 * through the HTTP API or the store one row at a time: the pool of refresh
 * tokens of scenario b and the million rows of the growth runs. Multi-row
 * INSERTs with reused prepared statements, inside large transactions.
 */

export type SeedTarget =
  | { dialect: 'sqlite'; path: string }
  | { dialect: 'postgres'; url: string; schema: string };

/**
 * argon2id (m=19456, t=2, p=1) of "pw": computed once, so that seeding 100,000
 * people costs no hashing. Nobody signs in as them.
 */
const FIXED_PASSWORD_HASH =
  '$argon2id$v=19$m=19456,t=2,p=1$cozKX6/YjSY45ZhH/Sr3DQ$uDjwNJDwkocawJ7rVX/OIktdIrWslZIwBH9vnRH4KQM';

type Value = string | number | null;

interface Writer {
  insert(table: string, columns: readonly string[], rows: Value[][]): Promise<void>;
  finish(tables: string[]): Promise<void>;
}

function values(rows: Value[][]): Value[] {
  const out: Value[] = [];
  for (const row of rows) for (const v of row) out.push(v);
  return out;
}

function sqliteWriter(path: string): Writer {
  const db = new SQLite(path);
  db.pragma('busy_timeout = 10000');
  const statements = new Map<string, SQLite.Statement>();
  const prepare = (table: string, columns: readonly string[], count: number) => {
    const key = `${table}:${count}`;
    let statement = statements.get(key);
    if (!statement) {
      const tuple = `(${columns.map(() => '?').join(',')})`;
      statement = db.prepare(
        `INSERT INTO ${table} (${columns.join(',')}) VALUES ${Array(count).fill(tuple).join(',')}`,
      );
      statements.set(key, statement);
    }
    return statement;
  };
  // SQLite allows 32,766 variables per statement.
  const perStatement = (columns: readonly string[]) => Math.floor(32_000 / columns.length);
  return {
    async insert(table, columns, rows) {
      const size = perStatement(columns);
      db.transaction(() => {
        for (let i = 0; i < rows.length; i += size) {
          const chunk = rows.slice(i, i + size);
          prepare(table, columns, chunk.length).run(values(chunk));
        }
      })();
    },
    async finish() {
      // Fold the write-ahead log back into the database, so the server reads one file.
      db.pragma('wal_checkpoint(TRUNCATE)');
      db.close();
    },
  };
}

async function postgresWriter(url: string, schema: string): Promise<Writer> {
  const client = new pg.Client({ connectionString: url, options: `-c search_path=${schema}` });
  await client.connect();
  // 65,535 parameters per statement at most.
  const perStatement = (columns: readonly string[]) => Math.floor(60_000 / columns.length);
  return {
    async insert(table, columns, rows) {
      const size = perStatement(columns);
      await client.query('BEGIN');
      try {
        for (let i = 0; i < rows.length; i += size) {
          const chunk = rows.slice(i, i + size);
          const tuples = chunk.map(
            (_, r) => `(${columns.map((__, c) => `$${r * columns.length + c + 1}`).join(',')})`,
          );
          await client.query({
            name: `seed_${table}_${chunk.length}`,
            text: `INSERT INTO ${table} (${columns.join(',')}) VALUES ${tuples.join(',')}`,
            values: values(chunk),
          });
        }
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        throw error;
      }
    },
    async finish(tables) {
      // Vacuumed with fresh statistics, as autovacuum would leave a store that grew over months,
      // and so that autovacuum does not wake up to do it during the next measurement.
      for (const table of tables) await client.query(`VACUUM ANALYZE ${table}`);
      await client.end();
    },
  };
}

function openWriter(target: SeedTarget): Promise<Writer> {
  return target.dialect === 'sqlite'
    ? Promise.resolve(sqliteWriter(target.path))
    : postgresWriter(target.url, target.schema);
}

/** Random base64url strings of `bytes` bytes, drawn from one buffer per batch. */
function randomIds(count: number, bytes: number): string[] {
  const buffer = randomBytes(count * bytes);
  const out = new Array<string>(count);
  for (let i = 0; i < count; i += 1)
    out[i] = buffer.toString('base64url', i * bytes, (i + 1) * bytes);
  return out;
}

const BATCH = 20_000;
const now = () => Math.floor(Date.now() / 1000);
const tokenRow = (row: TokensTable): Value[] => TOKEN_COLUMNS.map((c) => row[c]);
const userRow = (row: UsersTable): Value[] => USER_COLUMNS.map((c) => row[c]);

/**
 * Stores `count` fresh refresh tokens of the fixture person for the `web`
 * client, exactly as issueRefreshToken stores them (hashed, each its own
 * family, under the remembered grant); returns the plain tokens.
 */
export async function seedRefreshPool(
  target: SeedTarget,
  fixtures: TesseraFixtures,
  count: number,
  alg: IdTokenAlg = 'RS256',
): Promise<string[]> {
  const { web, webGrantId } = fixtures.idToken[alg];
  const writer = await openWriter(target);
  const tokens: string[] = [];
  const t = now();
  const familyEnd = t + 30 * 86400;
  try {
    for (let done = 0; done < count; done += BATCH) {
      const n = Math.min(BATCH, count - done);
      const plain = randomIds(n, 32);
      const families = randomIds(n, 16);
      const rows = plain.map((token, i) =>
        tokenRow({
          id: sha256(token),
          kind: 'refresh',
          format: 'opaque',
          client_id: web.id,
          user_id: fixtures.user.id,
          grant_id: webGrantId,
          family_id: families[i]!,
          session_id: fixtures.session.id,
          scope: REFRESH_SCOPE,
          audience: null,
          auth_time: fixtures.session.authTime,
          acr: null,
          amr: '["pwd"]',
          claims: null,
          act: null,
          jkt: null,
          created_at: t,
          expires_at: familyEnd,
          family_expires_at: familyEnd,
          rotated_at: null,
          revoked_at: null,
        }),
      );
      await writer.insert('tokens', TOKEN_COLUMNS, rows);
      tokens.push(...plain);
    }
  } finally {
    await writer.finish(['tokens']);
  }
  return tokens;
}

export interface GrowthCounts {
  tokens: number;
  users: number;
}

/**
 * The "large store": `users` people (with a fixed argon2id hash) and `tokens`
 * tokens spread over them, of every kind (half JWT access-token records, a fifth
 * opaque access tokens, the rest refresh tokens), none expired.
 */
export async function seedGrowth(
  target: SeedTarget,
  counts: GrowthCounts,
  clientIds: string[],
  issuer: string,
): Promise<void> {
  const writer = await openWriter(target);
  const t = now();
  try {
    const userIds: string[] = [];
    for (let done = 0; done < counts.users; done += BATCH) {
      const n = Math.min(BATCH, counts.users - done);
      const ids = randomIds(n, 16);
      userIds.push(...ids);
      const rows = ids.map((id, i) => {
        const name = `growth_${String(done + i).padStart(7, '0')}`;
        return userRow({
          id,
          username: name,
          username_lower: name,
          email: `${name}@example.com`,
          email_lower: `${name}@example.com`,
          email_verified: 1,
          password_hash: FIXED_PASSWORD_HASH,
          given_name: 'Grace',
          family_name: `Hopper ${done + i}`,
          middle_name: null,
          nickname: null,
          picture: null,
          website: null,
          gender: null,
          birthdate: null,
          zoneinfo: null,
          locale: null,
          phone_number: null,
          phone_number_verified: 0,
          address: null,
          role: 'user',
          two_factor: 0,
          pending_email: null,
          pending_email_lower: null,
          created_at: t,
          updated_at: t,
        });
      });
      await writer.insert('users', USER_COLUMNS, rows);
    }
    for (let done = 0; done < counts.tokens; done += BATCH) {
      const n = Math.min(BATCH, counts.tokens - done);
      const secrets = randomIds(n, 32);
      const others = randomIds(n * 2, 16);
      const rows = secrets.map((secret, i) => {
        const k = (done + i) % 10;
        const kind = k < 7 ? 'access' : 'refresh';
        const format = k < 5 ? 'jwt' : 'opaque';
        return tokenRow({
          // A JWT's record is keyed by its jti; an opaque token's by its hash.
          id: format === 'jwt' ? others[2 * i]! : secret,
          kind,
          format,
          client_id: clientIds[(done + i) % clientIds.length]!,
          user_id: userIds.length ? userIds[(done + i) % userIds.length]! : null,
          grant_id: others[2 * i + 1]!,
          family_id: others[2 * i + 1]!,
          session_id: null,
          scope: kind === 'refresh' ? REFRESH_SCOPE : 'openid profile email',
          audience: kind === 'access' ? issuer : null,
          auth_time: t,
          acr: null,
          amr: '["pwd"]',
          claims: null,
          act: null,
          jkt: null,
          created_at: t,
          expires_at: kind === 'access' ? t + 3600 : t + 30 * 86400,
          family_expires_at: kind === 'access' ? null : t + 30 * 86400,
          rotated_at: null,
          revoked_at: null,
        });
      });
      await writer.insert('tokens', TOKEN_COLUMNS, rows);
    }
  } finally {
    await writer.finish(['users', 'tokens']);
  }
}

/**
 * Leaves the store as a seeding does (see each writer's finish()), so that rows measured before
 * and after a seeding compare the size of the store, not the leftovers of earlier scenarios: the
 * write-ahead log that b and e grew on SQLite, the dead rows they left on PostgreSQL.
 */
export async function settle(target: SeedTarget): Promise<void> {
  const writer = await openWriter(target);
  await writer.finish(['tokens', 'users', 'authorization_codes', 'sessions', 'grants']);
}
