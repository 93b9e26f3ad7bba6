import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  connect,
  type DatabaseTarget,
  dropPostgresSchema,
  migrateToLatest,
} from '../../src/store/kysely/index.js';
import { precompiled } from '../../src/store/kysely/precompiled.js';
import type { Database } from '../../src/store/kysely/schema.js';
import { storeFactories } from '../helpers/stores.js';

for (const { name } of storeFactories()) {
  describe(`${name}: precompiled queries`, () => {
    let db: Kysely<Database>;
    const schema = `p_${process.pid}_${randomBytes(4).toString('hex')}`;
    const target: DatabaseTarget =
      name === 'sqlite'
        ? { dialect: 'sqlite', path: ':memory:' }
        : { dialect: 'postgres', url: process.env.TEST_DATABASE_URL! };
    beforeAll(async () => {
      db = await connect(target, name === 'postgres' ? schema : undefined);
      await migrateToLatest(db, target.dialect);
      await db
        .insertInto('audit_events')
        .values(
          ['one', 'two'].map((type, i) => ({
            type,
            user_id: null,
            client_id: `client-${type}`,
            ip: null,
            details: null,
            created_at: 1000 + i,
          })),
        )
        .execute();
    });
    afterAll(async () => {
      await db.destroy();
      if (target.dialect === 'postgres') await dropPostgresSchema(target.url, schema);
    });

    it('runs one compiled query with new values each time, keeping the fixed ones', async () => {
      const byType = precompiled(db, (param) =>
        db
          .selectFrom('audit_events')
          .select(['type', 'client_id'])
          .where('type', '=', param<string>('type'))
          .where('created_at', '>', 999),
      );
      expect((await byType({ type: 'one' })).rows).toEqual([
        { type: 'one', client_id: 'client-one' },
      ]);
      expect((await byType({ type: 'two' })).rows).toEqual([
        { type: 'two', client_id: 'client-two' },
      ]);
      expect((await byType({ type: 'three' })).rows).toEqual([]);
    });

    it('refuses to run without a value for each parameter', async () => {
      const byType = precompiled(db, (param) =>
        db.selectFrom('audit_events').select('id').where('type', '=', param<string>('type')),
      );
      await expect(byType({})).rejects.toThrow(/no value for type/);
    });
  });
}
