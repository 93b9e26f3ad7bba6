import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type DatabaseTarget,
  dropPostgresSchema,
  migrateDatabase,
  openStore,
} from '../../src/store/kysely/index.js';
import { migrations } from '../../src/store/migrations/index.js';
import { storeFactories } from '../helpers/stores.js';

/** A database no one has touched: a new SQLite file, or a new PostgreSQL schema. */
function freshDatabase(dialect: 'sqlite' | 'postgres'): {
  target: DatabaseTarget;
  schema?: string;
  drop(): Promise<void>;
} {
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-migrate-'));
    return {
      target: { dialect, path: join(dir, 'fresh.sqlite') },
      drop: async () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  const url = process.env.TEST_DATABASE_URL!;
  const schema = `m_${process.pid}_${randomBytes(4).toString('hex')}`;
  return { target: { dialect, url }, schema, drop: () => dropPostgresSchema(url, schema) };
}

for (const factory of storeFactories()) {
  describe(`${factory.name} migrations`, () => {
    const db = freshDatabase(factory.name);
    const options = db.schema ? { schema: db.schema } : {};
    afterAll(async () => db.drop());

    it('applies every migration, starting with 001_initial, to a fresh database, and nothing on a second run', async () => {
      const all = Object.keys(await migrations(factory.name).getMigrations()).sort();
      const applied = await migrateDatabase(db.target, options);
      expect(applied[0]).toBe('001_initial');
      expect(applied).toEqual(all);
      expect(await migrateDatabase(db.target, options)).toEqual([]);

      const store = await openStore(db.target, { ...options, migrate: false });
      try {
        expect(await store.users.count()).toBe(0);
        expect(await store.keys.list()).toEqual([]);
      } finally {
        await store.close();
      }
    });
  });
}
