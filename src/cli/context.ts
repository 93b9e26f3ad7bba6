import pino from 'pino';
import { composeContext } from '../compose.js';
import { ConfigError } from '../config.js';
import type { AppContext, RuntimeConfig } from '../context.js';
import { KeyDecryptionError } from '../domain/keys.js';
import { systemClock } from '../lib/clock.js';
import { openStore } from '../store/kysely/index.js';
import { PATIENT_BUSY_POLICY } from '../store/kysely/sqlite-busy.js';

/**
 * The same context the server builds (compose.ts), for one CLI command: the configured
 * store, and Redis (when configured) so running servers hear of changes at once.
 */
export async function withContext<T>(
  config: RuntimeConfig,
  work: (ctx: AppContext) => Promise<T>,
): Promise<T> {
  const log = pino(
    { level: config.logLevel === 'info' ? 'warn' : config.logLevel },
    pino.destination(2),
  );
  const store = await openStore(config.database, { busy: PATIENT_BUSY_POLICY });
  try {
    const { ctx, close } = await composeContext({
      config,
      store,
      clock: systemClock,
      log,
      role: 'command',
    }).catch((error: unknown) => {
      // A secret other than the keys' is a setting to fix, said in one line as `start` says it.
      if (error instanceof KeyDecryptionError)
        throw new ConfigError('TESSERA_SECRET', error.message);
      throw error;
    });
    try {
      return await work(ctx);
    } finally {
      // The apps of sessions a command ended are told before it exits.
      await close();
    }
  } finally {
    await store.close();
  }
}
