import type { PostgresPool, PostgresPoolClient } from 'kysely';
import pg from 'pg';
import { StoreUnavailableError } from '../types.js';

const INT8 = 20;
export const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** More distinct statements than the store has queries: past it, statements go unnamed. */
const MAX_NAMED = 1_000;
/** Only plain data statements are prepared; DDL and transaction control run as they come. */
const DATA_STATEMENT = /^\s*(select|insert|update|delete|with)\b/i;

/** SQLSTATE classes and codes of a connection that is gone or refused, not of a bad query. */
const CONNECTION_SQLSTATE = /^(08|57P0[1-3]$|53300$)/;
const CONNECTION_ERRNO = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * A lost or refused connection (a restart, a failover, the network) as a
 * StoreUnavailableError, answered 503 with Retry-After instead of 500; any
 * other error as it is. A write whose connection died may or may not have
 * committed, as with a 500; the 503 only tells the client to try again.
 */
function unavailable(error: unknown): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : '';
  const lost =
    (typeof code === 'string' && (CONNECTION_SQLSTATE.test(code) || CONNECTION_ERRNO.has(code))) ||
    message.startsWith('Connection terminated') ||
    message.includes('timeout exceeded when trying to connect');
  return lost
    ? new StoreUnavailableError('the database cannot be reached; try again shortly', 1, {
        cause: error,
      })
    : error;
}

const rethrow = (error: unknown): never => {
  throw unavailable(error);
};

/** pg emits 'error' on a client whose socket died; unheard, the event would end the process. */
const ignore = () => {};

/**
 * A pg pool for Kysely, in `schema` when given (created if missing). Each
 * data statement gets a name, so that PostgreSQL parses and plans it once per
 * connection instead of on every query: the token endpoint runs the same few
 * statements over and over.
 */
export async function openPostgres(url: string, schema: string | undefined): Promise<PostgresPool> {
  if (schema) {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
    } finally {
      await client.end();
    }
  }
  const pool = new pg.Pool({
    connectionString: url,
    max: 10,
    ...(schema ? { options: `-c search_path=${schema}` } : {}),
    // int8 columns hold epoch seconds and counts: well inside a JS number.
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === INT8
          ? Number
          : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
    },
  });
  // An idle client whose connection died: the pool drops it and connects anew when next asked.
  pool.on('error', ignore);
  const listening = new WeakSet<pg.PoolClient>();
  const names = new Map<string, string>();
  const nameOf = (sql: string): string | undefined => {
    let name = names.get(sql);
    if (name === undefined && names.size < MAX_NAMED && DATA_STATEMENT.test(sql)) {
      name = `tessera_${names.size}`;
      names.set(sql, name);
    }
    return name;
  };
  return {
    async connect(): Promise<PostgresPoolClient> {
      const client = await pool.connect().catch(rethrow);
      // A checked-out client has no pool listener: its query fails, and the event is heard here.
      if (!listening.has(client)) {
        client.on('error', ignore);
        listening.add(client);
      }
      return {
        query(sqlOrCursor: unknown, parameters?: ReadonlyArray<unknown>) {
          if (typeof sqlOrCursor !== 'string') return client.query(sqlOrCursor as never);
          const name = nameOf(sqlOrCursor);
          const values = parameters ? [...parameters] : [];
          return (
            name
              ? client.query({ name, text: sqlOrCursor, values })
              : client.query(sqlOrCursor, values)
          ).catch(rethrow);
        },
        release: () => client.release(),
      } as unknown as PostgresPoolClient;
    },
    end: () => pool.end(),
  };
}
