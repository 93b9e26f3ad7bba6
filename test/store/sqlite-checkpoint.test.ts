import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/kysely/index.js';
import { eventually } from '../helpers/eventually.js';
import { newToken, seedGrant } from './fixtures.js';

/** The write-ahead log is folded back into the database by a background connection. */
describe('SQLite checkpoints', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  async function fileStore() {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-ckpt-'));
    dirs.push(dir);
    const path = join(dir, 'tessera.sqlite');
    return { path, store: await openStore({ dialect: 'sqlite', path }) };
  }

  it('copies committed pages into the database file in the background, while the store stays open', async () => {
    const { path, store } = await fileStore();
    try {
      const owner = await seedGrant(store);
      const before = statSync(path).size;
      // Far fewer pages than SQLite's own automatic checkpoint would wait for.
      for (let i = 0; i < 20; i++) await store.tokens.saveAll([newToken(owner), newToken(owner)]);
      // The checkpointer runs on its own timer (every 0.5 s) in a worker thread, which neither
      // fake timers nor the app's clock reach, and tells nobody: the file is watched, with a deadline.
      await eventually(() => statSync(path).size > before, { within: 3_000, every: 50 });
      expect(existsSync(`${path}-wal`)).toBe(true);
    } finally {
      await store.close();
    }
  });

  it('closing the store stops the checkpointer first, so the log is folded back and removed', async () => {
    const { path, store } = await fileStore();
    const owner = await seedGrant(store);
    const token = newToken(owner);
    await store.tokens.save(token);
    await store.close();
    expect(existsSync(`${path}-wal`)).toBe(false);
    const reopened = await openStore({ dialect: 'sqlite', path });
    try {
      expect(await reopened.tokens.find(token.id)).toEqual(token);
    } finally {
      await reopened.close();
    }
  });
});
