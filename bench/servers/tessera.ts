/*
 * The server under test: Tessera built with buildApp and listening on
 * loopback, logger off, as `tessera start` would run it minus the logs and
 * the purge job. Started by the benchmark (pinned to the server core); the
 * store comes from the environment:
 *   BENCH_STORE=sqlite BENCH_SQLITE_PATH=/tmp/x.sqlite
 *   BENCH_STORE=postgres BENCH_PG_URL=postgres://… BENCH_PG_SCHEMA=bench_…
 */
import { type AddressInfo, createServer, type Socket } from 'node:net';
import { buildApp } from '../../src/app.js';
import { parseConfig } from '../../src/config.js';
import type { RuntimeConfig } from '../../src/context.js';
import { type DatabaseTarget, openStore } from '../../src/store/kysely/index.js';
import { cpuMicros, memoryMb, serveParent } from '../lib/ipc.js';
import { createFixtures, documentClient } from './fixtures.js';
import { startProfile, stopProfile } from './profiler.js';

function target(): DatabaseTarget {
  const env = process.env;
  if (env.BENCH_STORE === 'postgres') return { dialect: 'postgres', url: env.BENCH_PG_URL! };
  return { dialect: 'sqlite', path: env.BENCH_SQLITE_PATH! };
}

// The issuer names the port, so a TCP server listens first, on a port the system chooses, and
// hands each connection to the app's own HTTP server (set up by Fastify as for listen()). The
// growth rows rebuild the app behind the same port, which is never let go.
const door = createServer();
await new Promise<void>((resolve) => door.listen(0, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${(door.address() as AddressInfo).port}`;
const parsed = parseConfig({
  TESSERA_ISSUER: issuer,
  TESSERA_SECRET: process.env.BENCH_SECRET,
  DATABASE_URL: 'sqlite::memory:',
  NODE_ENV: 'production',
  // Production requires SMTP; nothing listens on the discard port, so a notice is tried and dropped.
  TESSERA_SMTP_URL: 'smtp://127.0.0.1:9',
  LOG_LEVEL: 'silent',
  TESSERA_PURGE_INTERVAL: '0',
});
// h's metadata document is served on loopback by the load generator. Production refuses
// TESSERA_CIMD_ALLOW_LOOPBACK from the environment (config.ts); the benchmark sets it on the
// parsed configuration instead, so every row keeps running in production mode.
const config = { ...parsed, cimdAllowLoopback: true } as RuntimeConfig;
const store = await openStore(target(), { schema: process.env.BENCH_PG_SCHEMA });

const sockets = new Set<Socket>();
async function serve(settings: RuntimeConfig) {
  const built = await buildApp({ config: settings, store, logger: false });
  await built.ready();
  return built;
}
let app = await serve(config);
door.on('connection', (socket) => {
  sockets.add(socket);
  socket.once('close', () => sockets.delete(socket));
  app.server.emit('connection', socket);
});
/** Closes the app and the connections it was handed, as app.close() after listen() would. */
async function close() {
  for (const socket of sockets) socket.destroy();
  await app.close();
}

serveParent(
  {
    fixtures: () => createFixtures(app.tessera),
    'document-client': (args) => {
      const { url, userId } = args as { url: string; userId: string };
      return documentClient(app.tessera, url, userId);
    },
    cpu: () => cpuMicros(),
    memory: () => memoryMb(),
    'profile-start': () => startProfile(),
    'profile-stop': (file) => stopProfile(String(file)),
    // The growth rows: the same store, keys, port and fixtures, with the token cache set anew.
    'token-cache': async (seconds) => {
      await close();
      app = await serve({ ...config, tokenCache: Number(seconds) });
    },
    stop: async () => {
      door.close();
      await close();
      await store.close();
    },
  },
  { url: issuer },
);
