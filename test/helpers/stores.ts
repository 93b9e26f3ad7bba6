import { randomBytes } from 'node:crypto';
import { dropPostgresSchema, openStore } from '../../src/store/kysely/index.js';
import type { Store } from '../../src/store/types.js';

export interface TestStore {
  name: 'sqlite' | 'postgres';
  store: Store;
  /** Closes the store and drops whatever the run created. */
  cleanup(): Promise<void>;
}

export type StoreFactory = { name: 'sqlite' | 'postgres'; open(): Promise<TestStore> };

/**
 * The databases tests run against: SQLite always; PostgreSQL when
 * TEST_DATABASE_URL is set. Under CI=true a missing PostgreSQL is a failure, not a skip.
 */
export function storeFactories(): StoreFactory[] {
  const factories: StoreFactory[] = [{ name: 'sqlite', open: openSqlite }];
  const url = process.env.TEST_DATABASE_URL;
  if (url) factories.push({ name: 'postgres', open: () => openPostgres(url) });
  else if (process.env.CI === 'true') {
    throw new Error(
      'CI=true but TEST_DATABASE_URL is not set: the PostgreSQL suite cannot be skipped in CI',
    );
  }
  return factories;
}

export async function openSqlite(): Promise<TestStore> {
  const store = await openStore({ dialect: 'sqlite', path: ':memory:' });
  return { name: 'sqlite', store, cleanup: () => store.close() };
}

/** A PostgreSQL store in a schema of its own, so parallel runs never collide. */
export async function openPostgres(url: string): Promise<TestStore> {
  const schema = `t_${process.pid}_${randomBytes(4).toString('hex')}`;
  const store = await openStore({ dialect: 'postgres', url }, { schema });
  return {
    name: 'postgres',
    store,
    cleanup: async () => {
      await store.close();
      await dropPostgresSchema(url, schema);
    },
  };
}
