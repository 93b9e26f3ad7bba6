import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { startTessera, type TesseraProcess } from '../helpers/tessera-process.js';

/*
 * The real CLI as an operator runs it, `tessera start` (from the sources, helpers/cli.ts) in a child
 * process, on its own data folder and SQLite file, on a port the system chooses.
 */

/** True when something accepts TCP connections on the port. */
export async function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export interface Tessera extends TesseraProcess {
  /** A folder laid out like a checkout: `data/secret` and `data/tessera.sqlite` inside. */
  dir: string;
  /** Environment that points another process at this one's data folder and database. */
  sameData: Record<string, string>;
  /** Kills the process if it still runs and removes its folder. */
  cleanup(): Promise<void>;
}

/** Starts `tessera start` with a fresh data folder and SQLite file, on PORT=0; `env` overrides. */
export function spawnTessera(env: Record<string, string> = {}, args: string[] = []): Tessera {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-ops-'));
  const sameData = {
    TESSERA_DATA_DIR: join(dir, 'data'),
    DATABASE_URL: `sqlite:${join(dir, 'data', 'tessera.sqlite')}`,
  };
  const base: NodeJS.ProcessEnv = { ...process.env };
  // The test runner's own settings must not leak into the server under test.
  for (const key of Object.keys(base)) {
    if (key.startsWith('TESSERA_') || key === 'DATABASE_URL' || key === 'NODE_ENV')
      delete base[key];
  }
  const tessera = startTessera(
    { ...base, ...sameData, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env },
    args,
  );
  return Object.assign(tessera, {
    dir,
    sameData,
    async cleanup() {
      if (tessera.child.exitCode === null && tessera.child.signalCode === null) {
        tessera.child.kill('SIGKILL');
      }
      await tessera.exited;
      rmSync(dir, { recursive: true, force: true });
    },
  });
}

/** The JSON log lines of stdout (the start-up banner is the only other text there). */
export function logLines(stdout: string): Record<string, unknown>[] {
  return stdout
    .split('\n')
    .slice(0, -1) // what follows the last newline may be a line still being written
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** A `start` for one test file: every process it starts is killed and cleaned up after each test. */
export function useTessera(): (env?: Record<string, string>, args?: string[]) => Promise<Tessera> {
  const running: Tessera[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((t) => t.cleanup()));
  });
  return async (env = {}, args = []) => {
    const tessera = spawnTessera(env, args);
    running.push(tessera);
    return tessera;
  };
}
