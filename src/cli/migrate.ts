import { parseArgs } from 'node:util';
import { migrateDatabase } from '../store/kysely/index.js';
import { describeDatabase, loadConfig, output } from './runtime.js';

/** `tessera migrate [--json]`: applies pending migrations and exits. */
export async function migrate(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { json: { type: 'boolean', default: false } },
  });
  const config = loadConfig();
  const applied = await migrateDatabase(config.database);
  output(values.json).result(
    { status: 'ok', database: config.database.dialect, applied },
    applied.length
      ? [
          `Applied ${applied.length} migration(s) on ${describeDatabase(config)}:`,
          ...applied.map((m) => `  ${m}`),
        ]
      : `Migrations are up to date on ${describeDatabase(config)}.`,
  );
}
