import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Migrator } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import {
  connect,
  type DatabaseTarget,
  dropPostgresSchema,
  migrateDatabase,
  migrateToLatest,
  openStore,
} from '../../src/store/kysely/index.js';
import { migrations } from '../../src/store/migrations/index.js';
import { storeFactories } from '../helpers/stores.js';
import { newUser } from './fixtures.js';

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

    it('003 re-keys e-mail addresses written before by their folded form, leaving a clash as it was', async () => {
      const old = freshDatabase(factory.name);
      const options = old.schema ? { schema: old.schema } : {};
      // Rows as 001's code wrote them: the key was the address lower-cased, nothing more.
      const row = (email: string) => {
        const user = newUser({ email });
        return {
          id: user.id,
          username: user.username,
          username_lower: user.username.toLowerCase(),
          email,
          email_lower: email.toLowerCase(),
          password_hash: user.passwordHash,
          email_verified: 0,
          phone_number_verified: 0,
          two_factor: 0,
          role: 'user',
          created_at: user.createdAt,
          updated_at: user.createdAt,
        };
      };
      const plain = row('Plain@Example.com');
      const wide = row('ｗｉｄｅ@example.com');
      // Two different old keys that fold to one.
      const twins = [row('ｔwin@example.com'), row('tｗin@example.com')];
      // A row already holding the folded key of another.
      const taken = row('taken@example.com');
      const shadow = row('ｔａｋｅｎ@example.com');
      try {
        const db = await connect(old.target, old.schema);
        try {
          await new Migrator({
            db,
            provider: migrations(factory.name),
            ...(old.schema ? { migrationTableSchema: old.schema } : {}),
          }).migrateTo('001_initial');
          await db
            .insertInto('users')
            .values([plain, wide, ...twins, taken, shadow])
            .execute();
          // Later migrations follow; this test is about 002 and 003.
          // Later migrations follow these two; this test is about 003.
          expect((await migrateToLatest(db, factory.name)).slice(0, 2)).toEqual([
            '002_security',
            '003_email_fold',
          ]);
          const rows = await db.selectFrom('users').select(['id', 'email_lower']).execute();
          const key = (id: string) => rows.find((r) => r.id === id)?.email_lower;
          expect(key(plain.id)).toBe('plain@example.com');
          expect(key(wide.id)).toBe('wide@example.com');
          // Of two old rows that fold together, one gets the key and the other keeps its own.
          expect(twins.map((t) => key(t.id) === 'twin@example.com')).toContain(true);
          expect(twins.filter((t) => key(t.id) === t.email_lower)).toHaveLength(1);
          expect(key(taken.id)).toBe('taken@example.com');
          expect(key(shadow.id)).toBe(shadow.email_lower);
        } finally {
          await db.destroy();
        }
        // Sign-in by any form of a re-keyed address finds its account.
        const store = await openStore(old.target, { ...options, migrate: false });
        try {
          for (const login of [
            'wide@example.com',
            'ＷＩＤＥ@EXAMPLE.COM',
            'ｗｉｄｅ@example.com',
          ]) {
            expect((await store.users.findByLogin(login))?.id, login).toBe(wide.id);
          }
        } finally {
          await store.close();
        }
      } finally {
        await old.drop();
      }
    });

    it('005 gives clients written before no keys, no sealed secret and no JWT bearer subjects', async () => {
      const old = freshDatabase(factory.name);
      const options = old.schema ? { schema: old.schema } : {};
      try {
        const db = await connect(old.target, old.schema);
        try {
          await new Migrator({
            db,
            provider: migrations(factory.name),
            ...(old.schema ? { migrationTableSchema: old.schema } : {}),
          }).migrateTo('003_email_fold');
          await db
            .insertInto('clients')
            .values({
              id: 'old-client',
              name: 'Old',
              contact_email: null,
              secret_hash: 'h',
              type: 'confidential',
              redirect_uris: '[]',
              post_logout_redirect_uris: '[]',
              grant_types: '["client_credentials"]',
              response_types: '[]',
              scopes: 'api:read',
              token_endpoint_auth_method: 'client_secret_basic',
              access_token_format: 'jwt',
              id_token_signed_response_alg: 'RS256',
              userinfo_signed_response_alg: null,
              backchannel_logout_uri: null,
              default_max_age: null,
              require_auth_time: 0,
              first_party: 0,
              require_pkce: 0,
              resource_server: 0,
              created_at: 1,
              updated_at: 1,
              // The row as 003's schema had it: today's type has 005's columns too.
            } as never)
            .execute();
          expect(await migrateToLatest(db, factory.name)).toContain('005_client_keys');
        } finally {
          await db.destroy();
        }
        const store = await openStore(old.target, { ...options, migrate: false });
        try {
          expect(await store.clients.findById('old-client')).toMatchObject({
            secretHash: 'h',
            secretSealed: null,
            jwks: null,
            jwksUri: null,
            tokenEndpointAuthSigningAlg: null,
            jwtBearerSubjects: [],
          });
        } finally {
          await store.close();
        }
      } finally {
        await old.drop();
      }
    });
  });
}
