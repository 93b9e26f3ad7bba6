import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Migrator } from 'kysely';
import { describe, expect, it } from 'vitest';
import {
  connect,
  type DatabaseTarget,
  dropPostgresSchema,
  migrateToLatest,
  openStore,
} from '../../src/store/kysely/index.js';
import { migrations } from '../../src/store/migrations/index.js';
import { storeFactories } from '../helpers/stores.js';
import { NOW } from './fixtures.js';

function freshDatabase(dialect: 'sqlite' | 'postgres'): {
  target: DatabaseTarget;
  schema?: string;
  drop(): Promise<void>;
} {
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-migrate-006-'));
    return {
      target: { dialect, path: join(dir, 'old.sqlite') },
      drop: async () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  const url = process.env.TEST_DATABASE_URL!;
  const schema = `m6_${process.pid}_${randomBytes(4).toString('hex')}`;
  return { target: { dialect, url }, schema, drop: () => dropPostgresSchema(url, schema) };
}

for (const factory of storeFactories()) {
  describe(`${factory.name}: 006_external_identities on a database in use`, () => {
    it('gives existing clients the default exchange policy and existing tokens no act', async () => {
      const old = freshDatabase(factory.name);
      try {
        const db = await connect(old.target, old.schema);
        try {
          // migrateTo answers its failure instead of throwing it: shown here, not as a missing table.
          const { error } = await new Migrator({
            db,
            provider: migrations(factory.name),
            ...(old.schema ? { migrationTableSchema: old.schema } : {}),
          }).migrateTo('003_email_fold');
          expect(error).toBeUndefined();
          // A client and a token as the code before 006 wrote them.
          await db
            .insertInto('clients')
            .values({
              id: 'old-client',
              name: 'Old app',
              contact_email: null,
              secret_hash: 'x',
              type: 'confidential',
              redirect_uris: '["https://old.example/cb"]',
              post_logout_redirect_uris: '[]',
              grant_types: '["authorization_code"]',
              response_types: '["code"]',
              scopes: 'openid',
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
              created_at: NOW,
              updated_at: NOW,
            } as never)
            .execute();
          await db
            .insertInto('tokens')
            .values({
              id: 'old-token',
              kind: 'access',
              format: 'opaque',
              client_id: 'old-client',
              user_id: null,
              grant_id: null,
              family_id: null,
              session_id: null,
              scope: 'openid',
              audience: null,
              auth_time: null,
              acr: null,
              amr: null,
              claims: null,
              created_at: NOW,
              expires_at: NOW + 60,
              family_expires_at: null,
              rotated_at: null,
              revoked_at: null,
            } as never)
            .execute();
          expect(await migrateToLatest(db, factory.name)).toContain('006_external_identities');
        } finally {
          await db.destroy();
        }
        const store = await openStore(old.target, {
          migrate: false,
          ...(old.schema ? { schema: old.schema } : {}),
        });
        try {
          expect(await store.clients.findById('old-client')).toMatchObject({
            tokenExchangeAudiences: [],
            tokenExchangeSubjectTokenTypes: ['urn:ietf:params:oauth:token-type:access_token'],
            tokenExchangeTrustedIssuers: [],
          });
          expect((await store.tokens.find('old-token'))?.act).toBeNull();
        } finally {
          await store.close();
        }
      } finally {
        await old.drop();
      }
    });
  });
}
