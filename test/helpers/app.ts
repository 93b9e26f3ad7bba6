import { createServer } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.js';
import type { Clock } from '../../src/lib/clock.js';
import type { Store } from '../../src/store/types.js';
import { testConfig } from './config.js';
import { openSqlite } from './stores.js';

export interface TestAppOptions {
  env?: Record<string, string>;
  store?: Store;
  clock?: Clock;
}

/** An app on a fresh in-memory SQLite store (or the given store), for inject() tests. */
export async function testApp(options: TestAppOptions = {}): Promise<FastifyInstance> {
  const owned = options.store ? undefined : await openSqlite();
  const app = await buildApp({
    config: testConfig(options.env),
    store: options.store ?? owned!.store,
    ...(options.clock ? { clock: options.clock } : {}),
  });
  if (owned) app.addHook('onClose', async () => owned.cleanup());
  return app;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export interface RunningServer {
  app: FastifyInstance;
  /** The issuer and base URL, e.g. http://127.0.0.1:41234 */
  url: string;
  close(): Promise<void>;
}

/** A listening server whose issuer is its own loopback URL, for real clients (fetch, openid-client). */
export async function startServer(options: TestAppOptions = {}): Promise<RunningServer> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const app = await testApp({ ...options, env: { TESSERA_ISSUER: url, ...options.env } });
  await app.listen({ port, host: '127.0.0.1' });
  return { app, url, close: () => app.close() };
}
