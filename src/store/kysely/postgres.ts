import type { PostgresPool, PostgresPoolClient } from 'kysely';
import pg from 'pg';

const INT8 = 20;
export const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** More distinct statements than the store has queries: past it, statements go unnamed. */
const MAX_NAMED = 1_000;
/** Only plain data statements are prepared; DDL and transaction control run as they come. */
const DATA_STATEMENT = /^\s*(select|insert|update|delete|with)\b/i;

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
      const client = await pool.connect();
      return {
        query(sqlOrCursor: unknown, parameters?: ReadonlyArray<unknown>) {
          if (typeof sqlOrCursor !== 'string') return client.query(sqlOrCursor as never);
          const name = nameOf(sqlOrCursor);
          const values = parameters ? [...parameters] : [];
          return name
            ? client.query({ name, text: sqlOrCursor, values })
            : client.query(sqlOrCursor, values);
        },
        release: () => client.release(),
      } as unknown as PostgresPoolClient;
    },
    end: () => pool.end(),
  };
}
