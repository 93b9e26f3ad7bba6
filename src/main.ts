import { CommandError, ConfigError } from './cli/runtime.js';

const USAGE = `Usage: tessera <command> [options]

Commands:
  start [--demo]            run the server (migrates first); --demo adds a demo user and client
  migrate                   apply database migrations
  user create ...           create a user (see: tessera user create --help)
  client create ...         register a client (see: tessera client create --help)
  client list               list clients
  client delete ID          delete a client
  keys rotate [--alg A]     sign with the published standby key, publish a new standby
  keys list                 the signing keys and their state

Every command takes --json for output that scripts can read.
Configuration comes from the environment: see docs/configuration.md.`;

type Command = (argv: string[]) => Promise<void>;

/** Commands by their words; loaded lazily so that `tessera migrate` does not load the server. */
const commands: Record<string, () => Promise<Command>> = {
  start: async () => (await import('./cli/start.js')).start,
  migrate: async () => (await import('./cli/migrate.js')).migrate,
  'user create': async () => (await import('./cli/user.js')).userCreate,
  'client create': async () => (await import('./cli/client.js')).clientCreate,
  'client list': async () => (await import('./cli/client.js')).clientList,
  'client delete': async () => (await import('./cli/client.js')).clientDelete,
  'keys rotate': async () => (await import('./cli/keys.js')).keysRotate,
  'keys list': async () => (await import('./cli/keys.js')).keysList,
};

function findCommand(argv: string[]): { name: string; rest: string[] } | undefined {
  const two = argv.slice(0, 2).join(' ');
  if (commands[two]) return { name: two, rest: argv.slice(2) };
  const one = argv[0];
  if (one && commands[one]) return { name: one, rest: argv.slice(1) };
  return undefined;
}

async function main(argv: string[]): Promise<void> {
  const json = argv.includes('--json');
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const found = findCommand(argv);
  if (!found) {
    process.stderr.write(`tessera: unknown command "${argv.slice(0, 2).join(' ')}"\n\n${USAGE}\n`);
    process.exitCode = 2;
    return;
  }
  try {
    const command = await commands[found.name]!();
    await command(found.rest);
  } catch (error) {
    if (error instanceof ConfigError || error instanceof CommandError || isArgError(error)) {
      const message = (error as Error).message;
      const code =
        error instanceof CommandError
          ? error.code
          : error instanceof ConfigError
            ? 'config'
            : 'usage';
      if (json) process.stdout.write(`${JSON.stringify({ error: code, message })}\n`);
      process.stderr.write(`tessera: ${message}\n`);
      process.exit(1);
    }
    throw error;
  }
}

function isArgError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS');
}

await main(process.argv.slice(2));
