import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeyRing } from '../../src/domain/keys.js';
import { systemClock } from '../../src/lib/clock.js';
import { dropPostgresSchema, openStore } from '../../src/store/kysely/index.js';
import type { SigningKey, Store } from '../../src/store/types.js';
import { CLI } from '../helpers/cli.js';
import { TEST_SECRET } from '../helpers/config.js';

const run = promisify(execFile);

const ring = (store: Store) =>
  KeyRing.open({
    store: store.keys,
    secret: TEST_SECRET,
    clock: systemClock,
    rotationDays: 90,
    retireAfter: 3900,
  });

/** Keys by state now, for one algorithm. */
function states(keys: SigningKey[], alg: string) {
  const now = Math.floor(Date.now() / 1000);
  const mine = keys.filter((k) => k.alg === alg && (k.expiresAt === null || k.expiresAt > now));
  return {
    current: mine.filter((k) => k.retiredAt === null && k.activatesAt <= now).length,
    standby: mine.filter((k) => k.retiredAt === null && k.activatesAt > now).length,
  };
}

/**
 * Issue 9: `tessera keys rotate` run while the server rotates (or maintains) its keys made two
 * standby keys. Rotations are serialised in the database, across processes and instances.
 */
describe('signing key rotations race', () => {
  describe('two processes on one SQLite file: the CLI and a server', () => {
    let dir: string;
    let store: Store;
    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'tessera-keys-'));
      store = await openStore({ dialect: 'sqlite', path: join(dir, 'keys.sqlite') });
    });
    afterAll(async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('leaves one current and one standby key per algorithm, however they interleave', async () => {
      const server = await ring(store);
      const env = {
        ...process.env,
        DATABASE_URL: `sqlite:${join(dir, 'keys.sqlite')}`,
        TESSERA_SECRET: TEST_SECRET,
        LOG_LEVEL: 'silent',
        NODE_ENV: 'test',
      };
      for (let round = 0; round < 3; round++) {
        const cli = run('node', [...CLI, 'keys', 'rotate', '--alg', 'ES256', '--json'], { env });
        let done = false;
        void cli.finally(() => {
          done = true;
        });
        // The server rotates too, and keeps maintaining its key set while the CLI works.
        await server.rotate(['ES256']);
        while (!done) {
          await server.refresh();
          // Let the child's exit be seen: SQLite answers without ever leaving the microtask queue.
          await new Promise((resolve) => setImmediate(resolve));
        }
        await cli;
        expect(states(await store.keys.list(), 'ES256'), `round ${round}`).toEqual({
          current: 1,
          standby: 1,
        });
      }
    }, 60_000);
  });

  const url = process.env.TEST_DATABASE_URL;
  describe.runIf(url)('two instances on one PostgreSQL schema', () => {
    const schema = `t_${process.pid}_${randomBytes(4).toString('hex')}`;
    let a: Store;
    let b: Store;
    beforeAll(async () => {
      a = await openStore({ dialect: 'postgres', url: url! }, { schema });
      b = await openStore({ dialect: 'postgres', url: url! }, { schema, migrate: false });
    });
    afterAll(async () => {
      await a.close();
      await b.close();
      await dropPostgresSchema(url!, schema);
    });

    it('two rotations at once promote in turn and leave one standby per algorithm', async () => {
      const [first, second] = await Promise.all([ring(a), ring(b)]);
      for (let round = 0; round < 3; round++) {
        await Promise.all([first.rotate(['ES256']), second.rotate(['ES256']), second.refresh()]);
        expect(states(await a.keys.list(), 'ES256'), `round ${round}`).toEqual({
          current: 1,
          standby: 1,
        });
      }
    });
  });
});
