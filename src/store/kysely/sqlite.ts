import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import type { SqliteDatabase } from 'kysely';

/** More distinct statements than the store has queries: reaching it means SQL built from data. */
const MAX_STATEMENTS = 1_000;

/**
 * better-sqlite3 opened for Tessera, as Kysely's SqliteDialect wants it, with
 * each statement prepared once. Kysely asks for a new prepared statement on
 * every query, and preparing (parsing and planning the SQL) cost more than
 * running the query on the token endpoint's lookups. Kysely never streams our
 * queries (`iterate`), the only use that would make a shared statement busy.
 */
export function openSqlite(path: string): SqliteDatabase {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new SQLite(path);
  db.pragma('journal_mode = WAL');
  // WAL with NORMAL sync is durable across process crashes; only a power loss can drop the last commits.
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  const statements = new Map<string, SQLite.Statement>();
  return {
    prepare(sql) {
      let statement = statements.get(sql);
      if (!statement) {
        if (statements.size >= MAX_STATEMENTS) statements.clear();
        statement = db.prepare(sql);
        statements.set(sql, statement);
      }
      return statement;
    },
    close() {
      statements.clear();
      db.close();
    },
  };
}
