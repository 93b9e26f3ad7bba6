import { type AddressInfo, createServer, type Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { type BuildOptions, buildApp } from '../../src/app.js';
import type { Clock } from '../../src/lib/clock.js';
import type { Store } from '../../src/store/types.js';
import { testConfig } from './config.js';
import { openSqlite } from './stores.js';

export interface TestAppOptions {
  env?: Record<string, string>;
  store?: Store;
  clock?: Clock;
  /** Off unless given: a test that reads the logs passes its own pino logger. */
  logger?: BuildOptions['logger'];
}

export interface ServerOptions extends TestAppOptions {
  /** A path for the issuer, e.g. "/tenant-a": the issuer is then http://127.0.0.1:PORT/tenant-a. */
  issuerPath?: string;
  /**
   * The issuer's host instead of 127.0.0.1 (the server still listens there): "localhost" for a
   * browser that needs a domain, as WebAuthn does (an IP address is no relying party id).
   */
  issuerHost?: string;
}

/** An app on a fresh in-memory SQLite store (or the given store), for inject() tests. */
export async function testApp(options: TestAppOptions = {}): Promise<FastifyInstance> {
  const owned = options.store ? undefined : await openSqlite();
  const app = await buildApp({
    config: testConfig(options.env),
    store: options.store ?? owned!.store,
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
  });
  if (owned) app.addHook('onClose', async () => owned.cleanup());
  return app;
}

export interface RunningServer {
  app: FastifyInstance;
  /** The issuer and base URL, e.g. http://127.0.0.1:41234 (or …/tenant-a with `issuerPath`) */
  url: string;
  /** The server's origin, e.g. http://127.0.0.1:41234, whatever the issuer's path. */
  origin: string;
  close(): Promise<void>;
}

/**
 * A listening server whose issuer is its own loopback URL, for real clients (fetch, openid-client).
 *
 * The issuer is configuration: it must name the port before the app is built, and a port is
 * known to be ours only once we listen on it. So a TCP server listens first, on a port the
 * system chooses, and hands each connection to the app's own HTTP server, which Fastify has set
 * up as for app.listen() (Node documents emitting 'connection' to give a server a socket).
 */
export async function startServer(options: ServerOptions = {}): Promise<RunningServer> {
  const door = createServer();
  await new Promise<void>((resolve, reject) => {
    door.once('error', reject);
    door.listen(0, '127.0.0.1', () => resolve());
  });
  const origin = `http://${options.issuerHost ?? '127.0.0.1'}:${(door.address() as AddressInfo).port}`;
  const url = `${origin}${options.issuerPath ?? ''}`;
  let app: FastifyInstance;
  try {
    app = await testApp({ ...options, env: { TESSERA_ISSUER: url, ...options.env } });
    await app.ready();
  } catch (error) {
    door.close();
    throw error;
  }
  const sockets = new Set<Socket>();
  door.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    app.server.emit('connection', socket);
  });
  return {
    app,
    url,
    origin,
    async close() {
      // As app.close() after app.listen(): no new connections, the kept-alive ones ended.
      door.close();
      for (const socket of sockets) socket.destroy();
      await app.close();
    },
  };
}
