import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { localEventBus, type TesseraEvent } from '../../src/store/events.js';
import { openStore } from '../../src/store/kysely/index.js';
import { testConfig } from '../helpers/config.js';
import { eventually } from '../helpers/eventually.js';
import { basicAuth, makeClient, makeUser } from '../helpers/oauth.js';
import { tcpProxy } from '../helpers/tcp-proxy.js';
import { freshIp } from './helpers.js';

const redisUrl = process.env.TEST_REDIS_URL;
if (!redisUrl && process.env.CI === 'true') {
  throw new Error('CI=true but TEST_REDIS_URL is not set: the Redis tests cannot be skipped in CI');
}

/** This run's counters in Redis: parallel runs, and other tests, never see each other's. */
const PREFIX = `tessera-test:${process.pid}:${randomBytes(4).toString('hex')}:`;

const LIMITS = {
  TESSERA_RATE_LIMIT_PREFIX: PREFIX,
  TESSERA_SIGNIN_MAX_FAILURES: '3',
  TESSERA_SIGNIN_DELAY_SECONDS: '0',
  TESSERA_SIGNIN_LOCKOUT_SECONDS: '2',
  TESSERA_SIGNUP_MAX_PER_IP: '2',
  TESSERA_CLIENT_IP_MAX_FAILURES: '5',
  TESSERA_CLIENT_BLOCK_SECONDS: '2',
};
const WRONG = 'not the password at all';

/*
 * The counters live in Redis, whose keys expire by Redis's own clock: no clock of the test's
 * moves them. So the end of a lockout is waited for by asking again until it is let in, within a
 * deadline; the lockouts are 2 seconds.
 */
const LOCKOUT_ENDS_WITHIN = { within: 5_000, every: 100 };

/** Submits the sign-in form to `app` from `ip`, with the CSRF pair its own sign-in page gave. */
async function signIn(app: FastifyInstance, ip: string, login: string, password: string) {
  const page = await app.inject({ url: '/login', remoteAddress: ip });
  const seed = page.cookies.find((c) => c.name === 'tessera_csrf')!.value;
  const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;
  const res = await app.inject({
    method: 'POST',
    url: '/login',
    remoteAddress: ip,
    cookies: { tessera_csrf: seed },
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ _csrf: csrf, username: login, password }).toString(),
  });
  return res.statusCode;
}

const clientToken = (app: FastifyInstance, ip: string, id: string, secret: string) =>
  app
    .inject({
      method: 'POST',
      url: '/token',
      remoteAddress: ip,
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: basicAuth(id, secret),
      },
      payload: 'grant_type=client_credentials',
    })
    .then((res) => res.statusCode);

const signUp = (app: FastifyInstance, ip: string, name: string) =>
  app
    .inject({
      method: 'POST',
      url: '/api/users',
      remoteAddress: ip,
      payload: { username: name, email: `${name}@example.com`, password: 'correct horse battery' },
    })
    .then((res) => res.statusCode);

describe.skipIf(!redisUrl)('abuse limits across instances sharing Redis', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  afterAll(async () => {
    const redis = new Redis(redisUrl!);
    const keys = await redis.keys(`${PREFIX}*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });

  /** Apps over one SQLite file and one Redis, as behind a load balancer. */
  async function instances(count: number, env: Record<string, string> = {}) {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-throttle-'));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const apps: FastifyInstance[] = [];
    for (let i = 0; i < count; i++) {
      const store = await openStore({ dialect: 'sqlite', path: join(dir, 'shared.sqlite') });
      const app = await buildApp({
        config: testConfig({ TESSERA_REDIS_URL: redisUrl!, ...LIMITS, ...env }),
        store,
      });
      cleanups.push(async () => {
        await app.close();
        await store.close();
      });
      apps.push(app);
    }
    return apps;
  }

  it('holds a sign-in lockout begun by guesses spread over two instances at both', async () => {
    const [a, b] = await instances(2);
    const { user, password } = await makeUser(a!.tessera);
    const ip = freshIp();
    expect(await signIn(a!, ip, user.username, WRONG)).toBe(401);
    expect(await signIn(b!, ip, user.username, WRONG)).toBe(401);
    expect(await signIn(a!, ip, user.username, WRONG)).toBe(429);
    expect(await signIn(b!, ip, user.username, password)).toBe(429);
    await eventually(
      async () => (await signIn(b!, ip, user.username, password)) === 303,
      LOCKOUT_ENDS_WITHIN,
    );
  });

  it('counts e-mailed code sends for an address at every instance', async () => {
    const [a, b] = await instances(2);
    const address = `otp-${randomBytes(4).toString('hex')}@example.com`;
    const send = (app: FastifyInstance) =>
      app.inject({ method: 'POST', url: '/api/otp/send', payload: { email: address } });
    expect((await send(a!)).statusCode).toBe(202);
    const refused = await send(b!);
    expect(refused.statusCode).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(60);
  });

  it('refuses a blocked address at every instance, from memory, soon after the block begins at one', async () => {
    const [a, b] = await instances(2);
    const { client, secret } = await makeClient(a!.tessera, {
      grantTypes: ['client_credentials'],
      scopes: [],
    });
    const ip = freshIp();
    const heard = new Promise<TesseraEvent>((resolve) =>
      a!.tessera.events.subscribe((event) => {
        if (event.type === 'limit.blocked') resolve(event);
      }),
    );
    for (const app of [a, b, a, b, b]) {
      expect(await clientToken(app!, ip, client.id, 'wrong')).toBe(401);
    }
    expect(await clientToken(b!, ip, client.id, secret!)).toBe(429);
    // a never counted the fifth failure: b's word reaches it over Redis, and a refuses at once.
    expect(await heard).toMatchObject({ type: 'limit.blocked', ms: 2_000 });
    expect(await clientToken(a!, ip, client.id, secret!)).toBe(429);
    await eventually(
      async () => (await clientToken(a!, ip, client.id, secret!)) === 200,
      LOCKOUT_ENDS_WITHIN,
    );
  });

  it('counts sign-ups from one address at every instance together', async () => {
    const [a, b] = await instances(2);
    const ip = freshIp();
    const tag = randomBytes(3).toString('hex');
    expect(await signUp(a!, ip, `x${tag}a`)).toBe(201);
    expect(await signUp(b!, ip, `x${tag}b`)).toBe(201);
    expect(await signUp(a!, ip, `x${tag}c`)).toBe(429);
  });

  it('falls back on each instance counting alone while Redis cannot be reached, and never answers 500', async () => {
    // Closed after the instance (cleanups run in reverse), which keeps reconnecting until then.
    const relay = await tcpProxy(redisUrl!);
    cleanups.push(() => relay.close());
    const [app] = await instances(1, { TESSERA_REDIS_URL: relay.url });
    const ctx = app!.tessera;
    const { user, password } = await makeUser(ctx);
    const { client, secret } = await makeClient(ctx, {
      grantTypes: ['client_credentials'],
      scopes: [],
    });
    const ip = freshIp();
    expect(await signIn(app!, ip, user.username, WRONG)).toBe(401);
    // Redis down: the relay keeps its port and resets every connection the client makes to it.
    await relay.refuse();

    // The instance's own count starts afresh: three more wrong passwords, then the lockout.
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push(await signIn(app!, ip, user.username, WRONG));
    expect(statuses).toEqual([401, 401, 429, 429]);
    expect(await signIn(app!, ip, user.username, password)).toBe(429);
    expect(await signIn(app!, freshIp(), user.username, password)).toBe(303);

    expect(await clientToken(app!, ip, client.id, secret!)).toBe(200);
    for (let i = 0; i < 5; i++) expect(await clientToken(app!, ip, client.id, 'wrong')).toBe(401);
    expect(await clientToken(app!, ip, client.id, secret!)).toBe(429);
    expect(await signUp(app!, ip, `y${randomBytes(3).toString('hex')}`)).toBe(201);
  });

  it('starts and limits with a Redis that is down from the start', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-throttle-'));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const store = await openStore({ dialect: 'sqlite', path: join(dir, 'alone.sqlite') });
    // Port 1: nothing listens. The event bus is given, since it waits for its Redis at start.
    const app = await buildApp({
      config: testConfig({ ...LIMITS, TESSERA_REDIS_URL: 'redis://127.0.0.1:1' }),
      store,
      events: localEventBus(),
    });
    cleanups.push(async () => {
      await app.close();
      await store.close();
    });
    const { user, password } = await makeUser(app.tessera);
    const ip = freshIp();
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push(await signIn(app, ip, user.username, WRONG));
    expect(statuses).toEqual([401, 401, 429]);
    expect(await signIn(app, ip, user.username, password)).toBe(429);
  });
});
