import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { buildApp } from '../app.js';
import { ConfigError, configWarnings } from '../config.js';
import { KeyDecryptionError } from '../domain/keys.js';
import { startPurgeJob } from '../jobs/purge.js';
import { openStore } from '../store/kysely/index.js';
import { createDemo } from './demo.js';
import { describeDatabase, loadConfig } from './runtime.js';

/** How long shutdown waits for in-flight requests before giving up on them. */
const SHUTDOWN_GRACE_MS = 10_000;

/** `tessera start [--demo]`: migrate, listen, print where to go next; stop cleanly on SIGTERM/SIGINT. */
export async function start(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { demo: { type: 'boolean', default: false } },
  });
  const config = loadConfig();
  const logger = pino({ level: config.logLevel, base: { service: 'tessera' } });
  for (const warning of configWarnings(config)) logger.warn(warning);

  const store = await openStore(config.database).catch((error: Error) => {
    // One line naming where to look, not a driver's stack trace.
    throw new ConfigError(
      'DATABASE_URL',
      `cannot open ${describeDatabase(config)}: ${error.message}`,
    );
  });
  const app = await buildApp({ config, store, logger }).catch(async (error: unknown) => {
    await store.close().catch(() => {});
    if (error instanceof KeyDecryptionError) throw new ConfigError('TESSERA_SECRET', error.message);
    throw error;
  });
  const stopPurge = startPurgeJob(app.tessera);

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: finishing in-flight requests');
    stopPurge();
    // A client that never finishes its request must not hold the process for Node's 5-minute timeout.
    setTimeout(() => {
      logger.error(`in-flight requests still open after ${SHUTDOWN_GRACE_MS} ms; exiting`);
      process.exit(1);
    }, SHUTDOWN_GRACE_MS).unref();
    try {
      await app.close();
      await store.close();
      logger.info('stopped');
      process.exit(0);
    } catch (error) {
      logger.error({ err: error }, 'unclean shutdown');
      process.exit(1);
    }
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));

  try {
    await app.listen({ port: config.port, host: config.host });
  } catch (error) {
    await app.close().catch(() => {});
    await store.close().catch(() => {});
    const code = (error as { code?: string }).code;
    const where = `${config.host}:${config.port}`;
    if (code === 'EADDRINUSE') throw new ConfigError('PORT', `${where} is already in use`);
    if (code === 'EACCES') throw new ConfigError('PORT', `no permission to listen on ${where}`);
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') {
      throw new ConfigError('HOST', `cannot listen on ${where}: no such local address`);
    }
    throw error;
  }

  const lines = [
    '',
    `  Tessera is running at ${config.issuer}`,
    // The address really bound: with PORT=0 the system chose the port, and this is where to read it.
    `  Listening on ${listeningUrl(app.server.address() as AddressInfo)}`,
    `  Database: ${describeDatabase(config)}`,
    `  Discovery: ${config.issuer}/.well-known/openid-configuration`,
    // Codes, verification and reset links are mailed: say where they go on a fresh machine.
    config.smtpUrl
      ? `  Mail: sent through ${new URL(config.smtpUrl).host}`
      : `  Mail: kept in the development outbox, ${config.issuer}/dev/outbox (set TESSERA_SMTP_URL to send it)`,
    '',
  ];
  if (values.demo) {
    lines.push(...(await createDemo(app.tessera)), '');
  } else {
    lines.push(
      '  Next steps, in another terminal:',
      '    npx tessera user create --username alice --email alice@example.com --password "change me please" --role admin',
      '    npx tessera client create --name "My app" --redirect-uri http://localhost:3000/callback',
      '',
      `  Then sign in at ${config.issuer}/login (or run \`npm start -- --demo\` for a ready-made user and client).`,
      '',
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** `http://host:port` of a bound TCP address, the IPv6 host in brackets. */
function listeningUrl({ address, family, port }: AddressInfo): string {
  return `http://${family === 'IPv6' ? `[${address}]` : address}:${port}`;
}
