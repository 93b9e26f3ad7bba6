import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kysely, sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { CommitGroup } from '../../src/store/kysely/commit-group.js';
import type { Database } from '../../src/store/kysely/schema.js';
import { openSqlite } from '../../src/store/kysely/sqlite.js';
import { GatedSqliteDialect } from '../../src/store/kysely/sqlite-busy.js';
import { StoreBusyError } from '../../src/store/types.js';
import { type HeldLock, holdWriteLock } from '../helpers/sqlite-lock.js';

/*
 * The SQLite commit group on a real database file: a scratch table `notes`,
 * and the statements Kysely ran counted by its log.
 */

interface Scratch {
  notes: { id: string; body: string };
}

describe('the SQLite commit group', () => {
  const dirs: string[] = [];
  const dbs: Kysely<Scratch>[] = [];
  let lock: HeldLock | undefined;
  afterEach(async () => {
    lock?.kill();
    lock = undefined;
    for (const db of dbs.splice(0)) await db.destroy();
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  async function open(busy = { deadlineMs: 200, cooldownMs: 0 }) {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-group-'));
    dirs.push(dir);
    const path = join(dir, 'group.sqlite');
    const statements: string[] = [];
    const db = new Kysely<Scratch>({
      dialect: new GatedSqliteDialect({ database: openSqlite(path) }, busy),
      log: (event) => {
        if (event.level === 'query') statements.push(event.query.sql.toLowerCase());
      },
    });
    dbs.push(db);
    await sql`create table notes (id text primary key, body text not null)`.execute(db);
    statements.length = 0;
    const group = new CommitGroup(db as unknown as Kysely<Database>);
    const tx = (work: (db: Kysely<Scratch>) => Promise<unknown>) =>
      group.run((t) => work(t as unknown as Kysely<Scratch>));
    const note =
      (id: string, body = id) =>
      (db: Kysely<Scratch>) =>
        db.insertInto('notes').values({ id, body }).execute();
    const ids = async () =>
      (await db.selectFrom('notes').select('id').orderBy('id').execute()).map((r) => r.id);
    const begins = () => statements.filter((s) => s.startsWith('begin')).length;
    return { path, db, group, tx, note, ids, begins, statements };
  }

  it('commits the writes of concurrent callers together, each answered after the commit', async () => {
    const { tx, note, ids, begins, statements } = await open();
    const names = Array.from({ length: 10 }, (_, i) => `n${i}`);
    await Promise.all(names.map((id) => tx(note(id))));
    expect(await ids()).toEqual(names);
    expect(begins()).toBe(1);
    expect(statements.filter((s) => s === 'commit')).toHaveLength(1);
  });

  it('commits a lone write at once, and a write asked for during a commit in the next group', async () => {
    const { tx, note, ids, begins } = await open();
    await tx(note('first'));
    expect(await ids()).toEqual(['first']);
    let second: Promise<unknown> | undefined;
    await tx(async (db) => {
      // Asked for while this group is being written: it cannot join it.
      second = tx(note('second'));
      await note('during')(db);
    });
    await second;
    expect(await ids()).toEqual(['during', 'first', 'second']);
    expect(begins()).toBe(3);
  });

  it('runs the writes of a group in order: each sees those before it', async () => {
    const { tx, note } = await open();
    const [, seen] = await Promise.all([
      tx(note('a')),
      tx(async (db) => (await db.selectFrom('notes').select('id').execute()).map((r) => r.id)),
    ]);
    expect(seen).toEqual(['a']);
  });

  it('refuses a failing write alone, with nothing of it stored, and stores the others', async () => {
    const { db, tx, note, ids, begins } = await open();
    await tx(note('taken', 'before'));
    const results = await Promise.allSettled([
      tx(note('a')),
      tx(async (t) => {
        // Half of it done, then it fails: the half must not stay.
        await note('half')(t);
        await note('taken', 'again')(t);
      }),
      tx(note('b')),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(String((results[1] as PromiseRejectedResult).reason)).toMatch(/UNIQUE/);
    expect(await ids()).toEqual(['a', 'b', 'taken']);
    expect(
      (await db.selectFrom('notes').select('body').where('id', '=', 'taken').execute())[0]?.body,
    ).toBe('before');
    // The group that failed, then the others again together.
    expect(begins()).toBe(3);
  });

  it('refuses every write of a group that cannot begin (the database busy), storing none, then works again', async () => {
    const { path, tx, note, ids } = await open({ deadlineMs: 50, cooldownMs: 0 });
    lock = await holdWriteLock(path, "insert into notes (id, body) values ('locker', 'x')");
    const results = await Promise.allSettled([tx(note('a')), tx(note('b'))]);
    for (const result of results) {
      expect(result.status).toBe('rejected');
      expect((result as PromiseRejectedResult).reason).toBeInstanceOf(StoreBusyError);
    }
    await lock.release();
    lock = undefined;
    await tx(note('c'));
    expect(await ids()).toEqual(['c', 'locker']);
  });

  it('carries at most maxWrites writes in one commit', async () => {
    const { db, note, ids, begins } = await open();
    const small = new CommitGroup(db as unknown as Kysely<Database>, 3);
    const statements: string[] = [];
    const names = Array.from({ length: 7 }, (_, i) => `m${i}`);
    await Promise.all(
      names.map((id) =>
        small.run(async (t) => {
          statements.push(id);
          await note(id)(t as unknown as Kysely<Scratch>);
        }),
      ),
    );
    expect(await ids()).toEqual(names);
    expect(statements).toEqual(names);
    expect(begins()).toBe(3);
  });
});
