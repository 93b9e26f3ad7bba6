import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { dropPostgresSchema, openStore } from '../../src/store/kysely/index.js';
import { type Store, StoreUnavailableError } from '../../src/store/types.js';
import { testApp } from '../helpers/app.js';
import { TEST_ADMIN_KEY } from '../helpers/config.js';
import { type TcpProxy, tcpProxy } from '../helpers/tcp-proxy.js';

/*
 * PostgreSQL restarting, failing over or out of reach, through a TCP proxy in
 * front of the real server. A lost connection must not end the process (pg
 * emits 'error' on a client whose socket died, and an unheard 'error' event
 * throws), and a request that meets it answers 503 with Retry-After, not 500.
 */

const url = process.env.TEST_DATABASE_URL;
if (!url && process.env.CI === 'true') {
  throw new Error(
    'CI=true but TEST_DATABASE_URL is not set: the PostgreSQL tests cannot be skipped',
  );
}

/** Tries `work` until it succeeds; every failure on the way must be a StoreUnavailableError. */
async function recovers<T>(work: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      expect(error).toBeInstanceOf(StoreUnavailableError);
      if (attempt === 20) throw error;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
}

describe.skipIf(!url)('PostgreSQL connections lost or refused', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function proxiedStore(): Promise<{ proxy: TcpProxy; store: Store }> {
    const proxy = await tcpProxy(url!);
    cleanups.push(() => proxy.close());
    const schema = `t_${process.pid}_${randomBytes(4).toString('hex')}`;
    const store = await openStore({ dialect: 'postgres', url: proxy.url }, { schema });
    cleanups.push(async () => {
      await store.close().catch(() => {});
      await dropPostgresSchema(url!, schema);
    });
    return { proxy, store };
  }

  it('a connection lost while idle does not end the process, and the next queries work', async () => {
    const { proxy, store } = await proxiedStore();
    await store.ping();
    proxy.cut();
    expect(await recovers(() => store.users.count())).toBe(0);
  });

  it('a query in flight when the connection drops is refused as unavailable, and the store recovers', async () => {
    const { proxy, store } = await proxiedStore();
    await store.ping();
    const sent = proxy.stall();
    const pending = store.users.count();
    await sent;
    proxy.cut();
    const error = await pending.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect((error as StoreUnavailableError).retryAfter).toBeGreaterThan(0);
    expect(await recovers(() => store.users.count())).toBe(0);
  });

  it('while the database is unreachable, requests answer 503 with Retry-After and /readyz says why; all works again after', async () => {
    const { proxy, store } = await proxiedStore();
    const app = await testApp({ store });
    cleanups.push(() => app.close());
    const signUp = (username: string) =>
      app.inject({
        method: 'POST',
        url: '/api/users',
        headers: { 'content-type': 'application/json' },
        payload: { username, email: `${username}@example.com`, password: 'correct horse battery' },
      });
    await proxy.refuse();

    const write = await signUp('while_down');
    expect(write.statusCode).toBe(503);
    expect(Number(write.headers['retry-after'])).toBeGreaterThan(0);
    expect(write.json()).toMatchObject({ error: 'temporarily_unavailable' });
    const read = await app.inject({
      url: '/admin/api/users',
      headers: { 'x-admin-key': TEST_ADMIN_KEY },
    });
    expect(read.statusCode).toBe(503);
    const page = await app.inject({
      url: '/account',
      headers: { cookie: 'tessera_session=abc', accept: 'text/html' },
    });
    expect(page.statusCode).toBe(503);
    expect(page.headers['content-type']).toContain('text/html');
    const ready = await app.inject('/readyz');
    expect(ready.statusCode).toBe(503);
    expect(ready.json()).toMatchObject({
      status: 'unavailable',
      reason: 'the database cannot be reached',
    });
    expect((await app.inject('/healthz')).statusCode).toBe(200);

    await proxy.accept();
    expect((await app.inject('/readyz')).statusCode).toBe(200);
    expect((await signUp('after_up')).statusCode).toBe(201);
    expect(await store.users.findByLogin('while_down')).toBeUndefined();
  });
});
