import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/kysely/index.js';
import type { BusyPolicy } from '../../src/store/kysely/sqlite-busy.js';
import { type Store, StoreBusyError } from '../../src/store/types.js';
import { type HeldLock, holdWriteLock } from '../helpers/sqlite-lock.js';
import { newSession, newToken, seedGrant } from './fixtures.js';

/*
 * The SQLite store while another process holds the file's write lock. Nothing
 * is timed: "the event loop is not blocked" is shown by the order of events. A
 * wait inside the driver call (SQLite's busy_timeout) runs in the microtasks
 * that follow the call, before any timer; a wait in sleeps lets a timer set
 * after the call run first.
 */

/** Settles with what happened, in the order it happened. */
function track(events: string[], name: string, work: Promise<unknown>): Promise<unknown> {
  return work.then(
    () => events.push(`${name} done`),
    (error: unknown) => {
      events.push(`${name} refused`);
      return error;
    },
  );
}

const nextTimer = (events: string[]) =>
  new Promise<void>((resolve) =>
    setTimeout(() => {
      events.push('timer');
      resolve();
    }, 0),
  );

describe('SQLite store with the write lock held by another process', () => {
  const dirs: string[] = [];
  const stores: Store[] = [];
  let lock: HeldLock | undefined;
  afterEach(async () => {
    lock?.kill();
    for (const store of stores.splice(0)) await store.close();
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  async function fileStore(busy?: BusyPolicy) {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-busy-'));
    dirs.push(dir);
    const path = join(dir, 'tessera.sqlite');
    const store = await openStore({ dialect: 'sqlite', path }, busy ? { busy } : {});
    stores.push(store);
    const owner = await seedGrant(store);
    return { path, store, owner };
  }

  const lockWith = (path: string) =>
    holdWriteLock(path, 'UPDATE users SET updated_at = updated_at + 1');

  it('waits for the lock in sleeps, not in the call: a timer set after a write runs before the write is refused', async () => {
    const { path, store, owner } = await fileStore();
    lock = await lockWith(path);
    const events: string[] = [];
    const write = track(events, 'write', store.tokens.save(newToken(owner)));
    await nextTimer(events);
    const error = await write;
    expect(events).toEqual(['timer', 'write refused']);
    expect(error).toBeInstanceOf(StoreBusyError);
    expect((error as StoreBusyError).retryAfter).toBeGreaterThan(0);
  });

  it('after a missed deadline, refuses writes at once (no waiting), keeps reading, and works again as soon as the lock is gone', async () => {
    // The usual deadline, and a cooldown no slow machine outlasts: the breaker must still be open
    // for the checks below, however long each takes.
    const { path, store, owner } = await fileStore({ deadlineMs: 200, cooldownMs: 60_000 });
    const kept = newToken(owner);
    await store.tokens.save(kept);
    lock = await lockWith(path);
    await expect(store.tokens.save(newToken(owner))).rejects.toBeInstanceOf(StoreBusyError);

    // The breaker is open: the next write is tried once and refused before any timer runs.
    const events: string[] = [];
    const write = track(events, 'write', store.tokens.save(newToken(owner)));
    await nextTimer(events);
    expect(await write).toBeInstanceOf(StoreBusyError);
    expect(events).toEqual(['write refused', 'timer']);

    // Reads go on; a transaction is refused at BEGIN, with nothing half-done; ping says busy.
    expect(await store.tokens.find(kept.id)).toEqual(kept);
    expect(await store.users.findById(owner.userId)).toBeDefined();
    await expect(store.users.delete(owner.userId)).rejects.toBeInstanceOf(StoreBusyError);
    await expect(store.ping()).rejects.toBeInstanceOf(StoreBusyError);

    await lock.release();
    // Within the breaker's cooldown, yet the first try succeeds: it only stopped the waiting.
    const after = newToken(owner);
    await store.tokens.save(after);
    await store.ping();
    expect(await store.tokens.find(after.id)).toEqual(after);
    expect(await store.tokens.find(kept.id)).toEqual(kept);
    // The other process's write was committed and is seen.
    const user = await store.users.findById(owner.userId);
    expect(user?.updatedAt).toBeGreaterThan(user!.createdAt);
  });

  it('waits out a lock that is let go while it waits, and then writes', async () => {
    // A long deadline, so that letting go (another process's round trip) surely happens within it.
    const { path, store, owner } = await fileStore({ deadlineMs: 60_000, cooldownMs: 1_000 });
    lock = await lockWith(path);
    const events: string[] = [];
    const session = newSession(owner.userId);
    const write = track(events, 'write', store.sessions.create(session));
    await nextTimer(events);
    // Noted before the other process is asked to let go: the write may succeed as soon as it
    // commits, before its word that it did comes back.
    events.push('releasing');
    await lock.release();
    await write;
    expect(events).toEqual(['timer', 'releasing', 'write done']);
    expect(
      (await store.sessions.findActiveBySecret(session.secretHash, session.createdAt))?.id,
    ).toBe(session.id);
  });

  it('waits out the lock at BEGIN of a transaction too, and commits it whole', async () => {
    const { path, store, owner } = await fileStore({ deadlineMs: 60_000, cooldownMs: 1_000 });
    await store.sessions.create(newSession(owner.userId));
    lock = await lockWith(path);
    const events: string[] = [];
    // Deleting a user is a transaction (its sessions first, then the user).
    const write = track(events, 'delete', store.users.delete(owner.userId));
    await nextTimer(events);
    events.push('releasing');
    await lock.release();
    await write;
    expect(events).toEqual(['timer', 'releasing', 'delete done']);
    expect(await store.users.findById(owner.userId)).toBeUndefined();
  });
});
