import { type Config, ConfigError, ensureSecret, parseConfig } from '../config.js';
import type { RuntimeConfig } from '../context.js';
import { openStore } from '../store/kysely/index.js';
import { PATIENT_BUSY_POLICY } from '../store/kysely/sqlite-busy.js';
import type { Store } from '../store/types.js';

/** What a command prints: text for people, or JSON with --json. */
export interface Output {
  json: boolean;
  /** Prints a result: `data` as JSON under --json, else the text lines. */
  result(data: unknown, text: string | string[]): void;
}

export function output(json: boolean): Output {
  return {
    json,
    result(data, text) {
      if (json) process.stdout.write(`${JSON.stringify(data, null, 2)}\n`);
      else process.stdout.write(`${Array.isArray(text) ? text.join('\n') : text}\n`);
    },
  };
}

/** A failure a command reports in one line (and as {"error": …} under --json), exiting with 1. */
export class CommandError extends Error {
  constructor(
    message: string,
    readonly code = 'error',
  ) {
    super(message);
    this.name = 'CommandError';
  }
}

/** The configuration from the environment, as the server would read it. */
export function loadConfig(env = process.env): RuntimeConfig {
  return ensureSecret(parseConfig(env));
}

export function describeDatabase(config: Config): string {
  return config.database.dialect === 'sqlite'
    ? `SQLite at ${config.database.path}`
    : `PostgreSQL at ${new URL(config.database.url).host}`;
}

/** Opens the configured store for one command and closes it afterwards. */
export async function withStore<T>(
  config: RuntimeConfig,
  work: (store: Store) => Promise<T>,
): Promise<T> {
  const store = await openStore(config.database, { busy: PATIENT_BUSY_POLICY });
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}

export { ConfigError };
