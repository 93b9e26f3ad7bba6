import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { grantConsent } from '../../src/domain/grants.js';
import { releasedClaimNames } from '../../src/oauth/claims.js';
import { openStore } from '../../src/store/kysely/index.js';
import type { Store } from '../../src/store/types.js';
import { testConfig } from '../helpers/config.js';
import { makeClient, makeUser } from '../helpers/oauth.js';

/**
 * The known bug of issue 12: grantConsent widened the grant its caller had read, which on a
 * signed-in browser's path comes from the sign-in cache (store/sign-in-cache.ts). Two instances
 * without Redis do not hear each other's writes, so within the cache's lifetime one of them
 * merged into a stale copy and dropped what the other had granted. The write now reads the row
 * itself (GrantStore.change).
 */
describe('a grant widened on two instances without Redis', () => {
  let dir: string;
  const apps: FastifyInstance[] = [];
  const stores: Store[] = [];
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tessera-grants-'));
    for (let i = 0; i < 2; i++) {
      const store = await openStore({ dialect: 'sqlite', path: join(dir, 'shared.sqlite') });
      // A long cache lifetime, so that the stale copy is certainly still kept.
      const app = await buildApp({
        config: testConfig({ TESSERA_TOKEN_CACHE_SECONDS: '60' }),
        store,
      });
      await app.ready();
      stores.push(store);
      apps.push(app);
    }
  });
  afterAll(async () => {
    for (const app of apps) await app.close();
    for (const store of stores) await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps what the other instance granted meanwhile', async () => {
    const [a, b] = apps.map((app) => app.tessera) as [
      FastifyInstance['tessera'],
      FastifyInstance['tessera'],
    ];
    const { client } = await makeClient(a, { scopes: ['openid', 'profile', 'email', 'phone'] });
    const { user } = await makeUser(a);
    const consent = (scopes: string[]) => ({
      userId: user.id,
      clientId: client.id,
      scopes,
      claims: [],
      resources: [],
      releasedByScopes: releasedClaimNames,
    });

    await grantConsent(a, { ...consent(['openid', 'profile']), existing: undefined });
    // Instance a reads the grant, as /authorize does, and keeps it.
    const kept = await a.store.grants.find(user.id, client.id);
    expect(kept?.scopes).toEqual(['openid', 'profile']);

    // The person allows email through instance b; a does not hear of it.
    const onB = await b.store.grants.find(user.id, client.id);
    await grantConsent(b, { ...consent(['email']), existing: onB });
    const stale = await a.store.grants.find(user.id, client.id);
    expect(stale?.scopes).toEqual(['openid', 'profile']);

    // Then phone through instance a, from its stale copy: email stays.
    const widened = await grantConsent(a, { ...consent(['phone']), existing: stale });
    expect(widened.scopes).toEqual(['openid', 'profile', 'email', 'phone']);
    const stored = await stores[1]!.grants.find(user.id, client.id);
    expect(stored?.scopes).toEqual(['openid', 'profile', 'email', 'phone']);
  });
});
