import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';

/** Another process holding the write lock of a SQLite file until told to let go. */
export interface HeldLock {
  /** Commits the held transaction (its write included) and waits for the process to end. */
  release(): Promise<void>;
  /** Kills the process without committing, if it still runs. */
  kill(): void;
}

// A separate process, as an operator's `sqlite3` shell or a backup tool would be: a lock held in
// this process would not show what a driver does when another process has the file.
const LOCKER = `
const Database = require(process.argv[1]);
const db = new Database(process.argv[2], { timeout: 0 });
db.exec('BEGIN IMMEDIATE');
db.prepare(process.argv[3]).run(...JSON.parse(process.argv[4]));
process.stdout.write('locked\\n');
process.stdin.once('data', () => {
  db.exec('COMMIT');
  db.close();
  process.stdout.write('released\\n');
  process.exit(0);
});
`;

/**
 * Starts a process that opens the SQLite file at `path`, begins an IMMEDIATE
 * transaction, runs `sql` (a write) and holds the lock; resolves once it does.
 */
export async function holdWriteLock(
  path: string,
  sql: string,
  parameters: unknown[] = [],
): Promise<HeldLock> {
  const module = createRequire(import.meta.url).resolve('better-sqlite3');
  const child = spawn(
    process.execPath,
    ['-e', LOCKER, module, path, sql, JSON.stringify(parameters)],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  let exited: number | null | undefined;
  const waiters = new Set<() => void>();
  const wake = () => {
    for (const waiter of [...waiters]) waiter();
  };
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
    wake();
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk;
  });
  child.once('exit', (code) => {
    exited = code;
    wake();
  });
  const waitFor = (word: string) =>
    new Promise<void>((resolve, reject) => {
      const waiter = () => {
        if (out.includes(word)) {
          waiters.delete(waiter);
          resolve();
        } else if (exited !== undefined) {
          waiters.delete(waiter);
          reject(new Error(`the locking process exited (${exited}) before "${word}": ${err}`));
        }
      };
      waiters.add(waiter);
      waiter();
    });
  await waitFor('locked');
  return {
    async release() {
      const released = waitFor('released');
      child.stdin.write('release\n');
      await released;
    },
    kill() {
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}
