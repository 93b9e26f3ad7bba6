import type { Kysely, Transaction } from 'kysely';
import type { Database } from './schema.js';

/** One caller's write: run inside the group's transaction, answered after its commit. */
type Work<T> = (tx: Transaction<Database>) => Promise<T>;

interface Entry {
  work: Work<unknown>;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/**
 * Group commit for SQLite. A commit is the dearest part of a token request's
 * write on SQLite: it appends every page the transaction touched to the
 * write-ahead log (a refresh touches about ten, across the tokens table's
 * indexes), in a system call the event loop waits on. Concurrent requests
 * write pages in common (the same index leaves), so their writes are made in
 * one transaction and one commit: each write asked for while one group is
 * being committed joins the next, and a lone write is committed at once (the
 * first group starts on the next turn of the event loop).
 *
 * Each write stays all-or-nothing: a write that fails rolls the whole group
 * back, is refused alone, and the others are run again in the next group (they
 * left nothing behind). A group that fails to begin or commit (the database
 * busy past its deadline, the disk full) refuses every write in it, none of
 * which was stored. Writes in one group run one after the other, so each sees
 * the ones before it, as if they had been separate transactions. A write must use the
 * transaction it is given, never the database or the group itself: the group holds the one
 * connection until it commits, so either would wait for ever.
 */
export class CommitGroup {
  #queue: Entry[] = [];
  #running = false;

  constructor(
    private readonly db: Kysely<Database>,
    /**
     * The most writes one commit carries: bounds how long the first waits for the last, and how
     * long a group, whose statements run back to back, keeps other requests waiting.
     */
    private readonly maxWrites = 16,
  ) {}

  run<T>(work: Work<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ work, resolve: resolve as (value: unknown) => void, reject });
      if (!this.#running) {
        this.#running = true;
        // After the current turn: the writes of requests read in the same turn join this group.
        setImmediate(() => void this.#drain());
      }
    });
  }

  async #drain(): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        const group = this.#queue.splice(0, this.maxWrites);
        await this.#commit(group);
      }
    } finally {
      this.#running = false;
    }
  }

  async #commit(group: Entry[]): Promise<void> {
    const results: unknown[] = [];
    let failed: Entry | undefined;
    try {
      await this.db.transaction().execute(async (tx) => {
        for (const entry of group) {
          try {
            results.push(await entry.work(tx));
          } catch (error) {
            failed = entry;
            throw error;
          }
        }
      });
    } catch (error) {
      if (!failed) {
        for (const entry of group) entry.reject(error);
        return;
      }
      failed.reject(error);
      // Rolled back with the failed one: the others go first in the next group.
      this.#queue.unshift(...group.filter((entry) => entry !== failed));
      return;
    }
    for (const [i, entry] of group.entries()) entry.resolve(results[i]);
  }
}
