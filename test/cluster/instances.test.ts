import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { buildApp } from '../../src/app.js';
import { createApi, findApi } from '../../src/domain/apis.js';
import { endSession, startSession } from '../../src/domain/sessions.js';
import type { TesseraEvent } from '../../src/store/events.js';
import { openStore } from '../../src/store/kysely/index.js';
import type { Store } from '../../src/store/types.js';
import { testConfig } from '../helpers/config.js';
import {
  authorizePath,
  basicAuth,
  makeClient,
  makeUser,
  pkce,
  REDIRECT_URI,
} from '../helpers/oauth.js';

const redisUrl = process.env.TEST_REDIS_URL;
if (!redisUrl && process.env.CI === 'true') {
  throw new Error('CI=true but TEST_REDIS_URL is not set: the Redis tests cannot be skipped in CI');
}

/** Two Tessera instances over one database, as behind a load balancer. */
describe('several instances', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    vi.useRealTimers();
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

  /** The next event of `type` that `app` hears from the others (over Redis). */
  const heard = (app: FastifyInstance, type: TesseraEvent['type']) =>
    new Promise<TesseraEvent>((resolve) =>
      app.tessera.events.subscribe((event) => {
        if (event.type === type) resolve(event);
      }),
    );

  it('share one key set, and a rotation in one reaches the other at its next re-read, every 2 seconds, without Redis', async () => {
    // The instances' timers that re-read the keys, moved on by hand.
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const [a, b] = await twoInstances();
    await b.tessera.keys.refresh();
    expect(await kids(a)).toEqual(await kids(b));
    const before = b.tessera.keys.signingKey('ES256').kid;
    await a.tessera.keys.rotate();
    expect(b.tessera.keys.signingKey('ES256').kid).toBe(before);
    const reread = vi.spyOn(b.tessera.keys, 'refresh');
    vi.advanceTimersByTime(1_999);
    expect(reread).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(reread).toHaveBeenCalledTimes(1);
    await reread.mock.results[0]!.value;
    expect(b.tessera.keys.signingKey('ES256').kid).not.toBe(before);
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
    // The token cache keeps an answer for 2 seconds by Date.now(): moved on by hand.
    vi.useFakeTimers({ toFake: ['Date'] });
    const [a, b] = await twoInstances();
    const token = await opaqueToken(a);
    expect(await token.active(b)).toBe(true);
    expect((await token.revoke(a)).statusCode).toBe(200);
    expect(await token.active(a)).toBe(false);
    vi.advanceTimersByTime(1_999);
    expect(await token.active(b)).toBe(true);
    vi.advanceTimersByTime(1);
    expect(await token.active(b)).toBe(false);
  });

  it('with TESSERA_TOKEN_CACHE_SECONDS=0, a token revoked at one instance is refused by the other at once', async () => {
    const [a, b] = await twoInstances({ TESSERA_TOKEN_CACHE_SECONDS: '0' });
    const token = await opaqueToken(a);
    expect(await token.active(b)).toBe(true);
    expect((await token.revoke(a)).statusCode).toBe(200);
    expect(await token.active(b)).toBe(false);
  });

  /** A session started at `issuer`, and whether an instance still takes its cookie (/account). */
  async function browserSession(issuer: FastifyInstance) {
    const { user } = await makeUser(issuer.tessera);
    const { session, secret } = await startSession(issuer.tessera, {
      userId: user.id,
      amr: ['pwd'],
    });
    const signedIn = async (app: FastifyInstance) =>
      (await app.inject({ url: '/account', cookies: { tessera_session: secret } })).statusCode ===
      200;
    const end = () => endSession(issuer.tessera, session, { by: 'self', reason: 'logout' });
    return { signedIn, end };
  }

  it('a session ended at one instance is refused by the other within 2 seconds without Redis', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const [a, b] = await twoInstances();
    const session = await browserSession(a);
    expect(await session.signedIn(b)).toBe(true);
    await session.end();
    expect(await session.signedIn(a)).toBe(false);
    vi.advanceTimersByTime(1_999);
    expect(await session.signedIn(b)).toBe(true);
    vi.advanceTimersByTime(1);
    expect(await session.signedIn(b)).toBe(false);
  });

  it('a code issued at the other instance from a session it still remembers, after the session ended, is refused at /token', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const [a, b] = await twoInstances();
    const { user } = await makeUser(a.tessera);
    const { client, secret } = await makeClient(a.tessera);
    const now = Math.floor(Date.now() / 1000);
    await a.tessera.store.grants.upsert(user.id, client.id, ['openid'], now);
    const { session, secret: cookie } = await startSession(a.tessera, {
      userId: user.id,
      amr: ['pwd'],
    });
    const { verifier, challenge } = pkce();
    const code = async () => {
      const answer = await b.inject({
        url: authorizePath({
          response_type: 'code',
          client_id: client.id,
          redirect_uri: REDIRECT_URI,
          scope: 'openid',
          code_challenge: challenge,
          code_challenge_method: 'S256',
        }),
        cookies: { tessera_session: cookie },
      });
      expect(answer.statusCode).toBe(302);
      return new URL(String(answer.headers.location)).searchParams.get('code');
    };
    const exchange = (value: string | null) =>
      b.inject({
        method: 'POST',
        url: '/token',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: basicAuth(client.id, secret!),
        },
        payload: new URLSearchParams({
          grant_type: 'authorization_code',
          code: value ?? '',
          redirect_uri: REDIRECT_URI,
          code_verifier: verifier,
        }).toString(),
      });
    // b remembers the session and the grant from this request on.
    expect((await exchange(await code())).statusCode).toBe(200);

    await endSession(a.tessera, session, { by: 'self', reason: 'logout' });
    vi.advanceTimersByTime(1_000);
    // Within its 2 seconds, b still takes the cookie and issues a code...
    const late = await code();
    expect(late).toBeTruthy();
    // ...which the database refuses: the session behind it has ended.
    const refused = await exchange(late);
    expect(refused.statusCode).toBe(400);
    expect(refused.json()).toMatchObject({
      error: 'invalid_grant',
      error_description: 'the sign-in or the consent behind this code has ended',
    });
  });

  describe.skipIf(!redisUrl)('with Redis', () => {
    // Date stands still in these tests, so no cache lifetime ends and no re-read timer is due:
    // what b learns, it learns from the message a sends it over Redis.
    it('a token revoked at one instance is refused by the other at once', async () => {
      vi.useFakeTimers({ toFake: ['Date', 'setInterval', 'clearInterval'] });
      const [a, b] = await twoInstances({ TESSERA_REDIS_URL: redisUrl! });
      const token = await opaqueToken(a);
      // b has read it, and would otherwise answer from memory for 2 seconds.
      expect(await token.active(b)).toBe(true);
      expect(await token.active(b)).toBe(true);
      const told = heard(b, 'tokens.changed');
      expect((await token.revoke(a)).statusCode).toBe(200);
      await told;
      expect(await token.active(b)).toBe(false);
    });

    it('a session ended at one instance is refused by the other at once', async () => {
      vi.useFakeTimers({ toFake: ['Date', 'setInterval', 'clearInterval'] });
      const [a, b] = await twoInstances({ TESSERA_REDIS_URL: redisUrl! });
      const session = await browserSession(a);
      expect(await session.signedIn(b)).toBe(true);
      const told = heard(b, 'tokens.changed');
      await session.end();
      await told;
      expect(await session.signedIn(b)).toBe(false);
    });

    it('a client change in one instance reaches the other at once', async () => {
      vi.useFakeTimers({ toFake: ['Date', 'setInterval', 'clearInterval'] });
      const [a, b] = await twoInstances({ TESSERA_REDIS_URL: redisUrl! });
      expect(a.tessera.events.kind).toBe('redis');
      const { client } = await makeClient(a.tessera);
      expect((await b.tessera.clients.get(client.id))?.name).toBe('Test App');
      await a.tessera.store.clients.update(client.id, { name: 'Renamed' }, 1);
      const told = heard(b, 'client.changed');
      a.tessera.clients.invalidate(client.id);
      expect(await told).toEqual({ type: 'client.changed', id: client.id });
      expect((await b.tessera.clients.get(client.id))?.name).toBe('Renamed');
    });

    it('an API created in one instance is known to the other at once', async () => {
      vi.useFakeTimers({ toFake: ['Date', 'setInterval', 'clearInterval'] });
      const [a, b] = await twoInstances({ TESSERA_REDIS_URL: redisUrl! });
      // b has read the (empty) list, and would otherwise keep it for 5 seconds.
      expect(await findApi(b.tessera, 'https://orders.example.com/')).toBeUndefined();
      const told = heard(b, 'apis.changed');
      await createApi(a.tessera, { identifier: 'https://orders.example.com/', name: 'Orders' });
      await told;
      expect((await findApi(b.tessera, 'https://orders.example.com/'))?.name).toBe('Orders');
    });

    it('a key rotation in one instance is announced to the other', async () => {
      vi.useFakeTimers({ toFake: ['Date', 'setInterval', 'clearInterval'] });
      const [a, b] = await twoInstances({ TESSERA_REDIS_URL: redisUrl! });
      await b.tessera.keys.refresh();
      const before = b.tessera.keys.signingKey('RS256').kid;
      const reread = vi.spyOn(b.tessera.keys, 'refresh');
      const told = heard(b, 'keys.changed');
      await a.tessera.keys.rotate(['RS256']);
      await told;
      // b's own handler, which runs before this test's, began re-reading the keys.
      expect(reread).toHaveBeenCalled();
      await Promise.all(reread.mock.results.map((result) => result.value));
      expect(b.tessera.keys.signingKey('RS256').kid).not.toBe(before);
      expect(b.tessera.keys.signingKey('RS256').kid).toBe(a.tessera.keys.signingKey('RS256').kid);
    });
  });
});
