import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Worker } from 'node:worker_threads';
import SQLite from 'better-sqlite3';
import type { SqliteDatabase } from 'kysely';
import { LRUCache } from 'lru-cache';

/**
 * More distinct statements than the store has queries: reaching it means SQL built from data,
 * whose statements then push out the least recently used.
 */
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
  // At start, before anything is served, these pragmas may wait up to 5 s for another process.
  const db = new SQLite(path, { timeout: 5_000 });
  db.pragma('journal_mode = WAL');
  // WAL with NORMAL sync is durable across process crashes; only a power loss can drop the last commits.
  db.pragma('synchronous = NORMAL');
  // From now on, never: SQLite waits for a lock inside the call, and better-sqlite3's calls run on
  // the event loop, so a lock held elsewhere froze every request. Waits are asynchronous instead,
  // in the driver (sqlite-busy.ts).
  db.pragma('busy_timeout = 0');
  const stopCheckpointer = path === ':memory:' ? () => {} : startCheckpointer(db, path);
  const statements = new LRUCache<string, SQLite.Statement>({ max: MAX_STATEMENTS });
  return {
    prepare(sql) {
      let statement = statements.get(sql);
      if (!statement) {
        statement = db.prepare(sql);
        statements.set(sql, statement);
      }
      return statement;
    },
    close() {
      statements.clear();
      // The checkpointer's connection closes first, so that this one, the last, folds the log
      // back into the database and removes it.
      stopCheckpointer();
      db.close();
    },
  };
}

/** How often the background connection folds the write-ahead log back into the database. */
const CHECKPOINT_INTERVAL_MS = 500;
/**
 * Pages in the log past which a commit on the event loop checkpoints after all (SQLite's own
 * automatic checkpoint): reached only if the background checkpointer falls behind or dies.
 */
const FALLBACK_CHECKPOINT_PAGES = 10_000;

/** What the checkpointer's thread is given. */
export interface CheckpointerData {
  path: string;
  intervalMs: number;
  /** An Int32 set to 1 once its connection is closed: close() waits on it. */
  done: SharedArrayBuffer;
}

/**
 * Checkpoints in a worker thread (checkpointer.js), on a connection of its own. SQLite checkpoints
 * automatically inside a commit once the log reaches 1,000 pages: the commit
 * that trips it copies the log into the database and fsyncs it, on the event
 * loop. That was about half the cost of a refresh token's two commits. A
 * PASSIVE checkpoint never blocks readers or writers, and the fsync now waits
 * in the worker. Returns a function that stops it and closes its connection,
 * synchronously (Kysely closes databases synchronously), waiting at most 2 s.
 */
function startCheckpointer(db: SQLite.Database, path: string): () => void {
  db.pragma(`wal_autocheckpoint = ${FALLBACK_CHECKPOINT_PAGES}`);
  // A log that grew in a burst is cut back to this size after a checkpoint.
  db.pragma('journal_size_limit = 67108864');
  const done = new SharedArrayBuffer(4);
  const workerData: CheckpointerData = { path, intervalMs: CHECKPOINT_INTERVAL_MS, done };
  const worker = new Worker(new URL('./checkpointer.js', import.meta.url), { workerData });
  // It never keeps the process alive, and if it dies the fallback above bounds the log.
  worker.unref();
  worker.on('error', (error) => {
    process.emitWarning(
      `the SQLite checkpointer thread failed: ${error.message}`,
      'TesseraWarning',
    );
  });
  worker.on('exit', () => Atomics.store(new Int32Array(done), 0, 1));
  let stopped = false;
  return () => {
    if (stopped) return;
    stopped = true;
    worker.postMessage('stop');
    Atomics.wait(new Int32Array(done), 0, 0, 2_000);
  };
}
