import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { openStore } from '../../src/store/kysely/index.js';
import type { Store } from '../../src/store/types.js';
import { testConfig } from '../helpers/config.js';
import { basicAuth, makeClient } from '../helpers/oauth.js';

const redisUrl = process.env.TEST_REDIS_URL;
if (!redisUrl && process.env.CI === 'true') {
  throw new Error('CI=true but TEST_REDIS_URL is not set: the Redis tests cannot be skipped in CI');
}

/** Two Tessera instances over one database, as behind a load balancer. */
describe('several instances', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function twoInstances(
    env: Record<string, string> = {},
  ): Promise<[FastifyInstance, FastifyInstance]> {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-cluster-'));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const apps: FastifyInstance[] = [];
    for (let i = 0; i < 2; i++) {
      const store: Store = await openStore({ dialect: 'sqlite', path: join(dir, 'shared.sqlite') });
      const app = await buildApp({ config: testConfig(env), store });
      cleanups.push(async () => {
        await app.close();
        await store.close();
      });
      apps.push(app);
    }
    return apps as [FastifyInstance, FastifyInstance];
  }

  const kids = async (app: FastifyInstance) =>
    ((await app.inject('/jwks')).json() as { keys: { kid: string }[] }).keys
      .map((k) => k.kid)
      .sort();

  async function eventually(check: () => Promise<boolean>, ms: number): Promise<number> {
    const start = Date.now();
    while (Date.now() - start < ms) {
      if (await check()) return Date.now() - start;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`not within ${ms} ms`);
  }

  it('share one key set, and a rotation in one reaches the other within 5 seconds without Redis', async () => {
    const [a, b] = await twoInstances();
    await b.tessera.keys.refresh();
    expect(await kids(a)).toEqual(await kids(b));
    const before = b.tessera.keys.signingKey('ES256').kid;
    await a.tessera.keys.rotate();
    const took = await eventually(
      async () => b.tessera.keys.signingKey('ES256').kid !== before,
      5_000,
    );
    expect(took).toBeLessThan(5_000);
    expect(b.tessera.keys.signingKey('ES256').kid).toBe(a.tessera.keys.signingKey('ES256').kid);
    expect(await kids(b)).toEqual(await kids(a));
  });

  /** An opaque client_credentials token from `issuer`, and a way to introspect it at any instance. */
  async function opaqueToken(issuer: FastifyInstance) {
    const { client, secret } = await makeClient(issuer.tessera, {
      grantTypes: ['client_credentials'],
      accessTokenFormat: 'opaque',
      scopes: [],
    });
    const auth = basicAuth(client.id, secret!);
    const form = { 'content-type': 'application/x-www-form-urlencoded', authorization: auth };
    const issued = await issuer.inject({
      method: 'POST',
      url: '/token',
      headers: form,
      payload: 'grant_type=client_credentials',
    });
    const token = issued.json().access_token as string;
    const active = async (app: FastifyInstance) =>
      (
        await app.inject({
          method: 'POST',
          url: '/introspect',
          headers: form,
          payload: `token=${token}`,
        })
      ).json().active === true;
    const revoke = async (app: FastifyInstance) =>
      app.inject({ method: 'POST', url: '/revoke', headers: form, payload: `token=${token}` });
    return { active, revoke };
  }

  it('a token revoked at one instance is refused by the other within 2 seconds without Redis', async () => {
    const [a, b] = await twoInstances();
    const token = await opaqueToken(a);
    expect(await token.active(b)).toBe(true);
    expect((await token.revoke(a)).statusCode).toBe(200);
    expect(await token.active(a)).toBe(false);
    const took = await eventually(async () => !(await token.active(b)), 3_000);
    expect(took).toBeLessThanOrEqual(2_100);
  });

  it('with TESSERA_TOKEN_CACHE_SECONDS=0, a token revoked at one instance is refused by the other at once', async () => {
    const [a, b] = await twoInstances({ TESSERA_TOKEN_CACHE_SECONDS: '0' });
    const token = await opaqueToken(a);
    expect(await token.active(b)).toBe(true);
    expect((await token.revoke(a)).statusCode).toBe(200);
    expect(await token.active(b)).toBe(false);
  });

  describe.skipIf(!redisUrl)('with Redis', () => {
    it('a token revoked at one instance is refused by the other at once', async () => {
      const [a, b] = await twoInstances({ TESSERA_REDIS_URL: redisUrl! });
      const token = await opaqueToken(a);
      // b has read it, and would otherwise answer from memory for 2 seconds.
      expect(await token.active(b)).toBe(true);
      expect(await token.active(b)).toBe(true);
      expect((await token.revoke(a)).statusCode).toBe(200);
      const took = await eventually(async () => !(await token.active(b)), 2_000);
      expect(took).toBeLessThan(1_000);
    });

    it('a client change in one instance reaches the other at once', async () => {
      const [a, b] = await twoInstances({ TESSERA_REDIS_URL: redisUrl! });
      expect(a.tessera.events.kind).toBe('redis');
      const { client } = await makeClient(a.tessera);
      expect((await b.tessera.clients.get(client.id))?.name).toBe('Test App');
      await a.tessera.store.clients.update(client.id, { name: 'Renamed' }, 1);
      a.tessera.clients.invalidate(client.id);
      const took = await eventually(
        async () => (await b.tessera.clients.get(client.id))?.name === 'Renamed',
        2_000,
      );
      // Well inside the 5-second cache lifetime: the event did it, not the expiry.
      expect(took).toBeLessThan(1_500);
    });

    it('a key rotation in one instance is announced to the other', async () => {
      const [a, b] = await twoInstances({ TESSERA_REDIS_URL: redisUrl! });
      await b.tessera.keys.refresh();
      const before = b.tessera.keys.signingKey('RS256').kid;
      await a.tessera.keys.rotate(['RS256']);
      const took = await eventually(
        async () => b.tessera.keys.signingKey('RS256').kid !== before,
        2_000,
      );
      expect(took).toBeLessThan(1_500);
    });
  });
});
