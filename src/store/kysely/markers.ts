import type { Kysely } from 'kysely';
import type { MarkerStore } from '../types.js';
import type { CommitGroup } from './commit-group.js';
import type { Database } from './schema.js';

/** The most markers one insert carries. */
const MAX_BATCH = 1000;

/**
 * An expiry as the column holds it: JWT times may be fractional (RFC 7519 §2), and a marker is
 * kept until the second after.
 */
function wholeSeconds(expiresAt: number): number {
  return Number.isFinite(expiresAt) ? Math.ceil(expiresAt) : Number.MAX_SAFE_INTEGER;
}

interface Waiting {
  id: string;
  expiresAt: number;
  resolve(used: boolean): void;
  reject(error: unknown): void;
}

/**
 * Markers are spent on every token request that carries a client assertion or a DPoP proof, so
 * their inserts are shared: on SQLite in the commit group's next commit; on PostgreSQL as one
 * multi-row insert for all the markers asked for in one turn of the event loop, which answers
 * which of them it stored (`returning`). Either way the primary key lets a marker be inserted
 * once, however many requests or instances race for it.
 */
export function markerStore(db: Kysely<Database>, group?: CommitGroup): MarkerStore {
  const insertOne = async (into: Kysely<Database>, id: string, expiresAt: number) => {
    const result = await into
      .insertInto('used_markers')
      .values({ id, expires_at: expiresAt })
      .onConflict((oc) => oc.column('id').doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
  };
  if (group) {
    return {
      use: (id, expiresAt) => group.run((tx) => insertOne(tx, id, wholeSeconds(expiresAt))),
    };
  }

  let batch: Waiting[] = [];
  const flush = async () => {
    const waiting = batch;
    batch = [];
    // The first request for a marker in a batch may win it; a second one in the same batch has
    // lost already (one statement cannot tell which of two equal rows it stored).
    const first = new Map<string, Waiting>();
    for (const w of waiting) {
      if (first.has(w.id)) w.resolve(false);
      else first.set(w.id, w);
    }
    // Sorted, so that instances inserting overlapping markers take their locks in one order
    // (no deadlock), and in chunks well under PostgreSQL's limit of parameters per statement.
    const rows = [...first.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    for (let i = 0; i < rows.length; i += MAX_BATCH) {
      const chunk = rows.slice(i, i + MAX_BATCH);
      try {
        const stored = await db
          .insertInto('used_markers')
          .values(chunk.map((w) => ({ id: w.id, expires_at: w.expiresAt })))
          .onConflict((oc) => oc.column('id').doNothing())
          .returning('id')
          .execute();
        const won = new Set(stored.map((row) => row.id));
        for (const w of chunk) w.resolve(won.has(w.id));
      } catch {
        // One failing row must not fail the others': each is tried alone.
        await Promise.all(
          chunk.map((w) => insertOne(db, w.id, w.expiresAt).then(w.resolve, w.reject)),
        );
      }
    }
  };
  return {
    use(id, expiresAt) {
      return new Promise<boolean>((resolve, reject) => {
        batch.push({ id, expiresAt: wholeSeconds(expiresAt), resolve, reject });
        if (batch.length === 1) setImmediate(() => void flush());
      });
    },
  };
}
