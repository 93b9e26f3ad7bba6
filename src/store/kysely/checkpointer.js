// @ts-check
// The worker thread of sqlite.ts's checkpointer: a connection of its own that folds the
// write-ahead log back into the database every `intervalMs`, until any message stops it.
// JavaScript, not TypeScript, so that it runs as it is from src/ (tests, the benchmark) and
// from dist/: Node 20's worker threads do not take tsx's loader.
import { parentPort, workerData } from 'node:worker_threads';
import SQLite from 'better-sqlite3';

/** @type {import('./sqlite.js').CheckpointerData} */
const { path, intervalMs, done } = workerData;
// timeout 0: a PASSIVE checkpoint never waits for locks, and nor does anything else here, so
// that closing the store (which waits for this thread) is never held up by another process.
const db = new SQLite(path, { fileMustExist: true, timeout: 0 });
const flag = new Int32Array(done);
const timer = setInterval(() => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch {
    // Busy or failing: the next tick tries again, and the fallback bounds the log meanwhile.
  }
}, intervalMs);

parentPort?.on('message', () => {
  clearInterval(timer);
  try {
    db.close();
  } catch {
    // Already unusable: nothing left to close.
  }
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
  parentPort?.close();
});
