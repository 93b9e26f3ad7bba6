import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { CLI } from '../helpers/cli.js';

/*
 * The real CLI as an operator runs it, `tessera start` in a child process, on its own data
 * folder, SQLite file and port; from the sources (helpers/cli.ts).
 */

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

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

export interface Tessera {
  child: ChildProcess;
  port: number;
  url: string;
  /** A folder laid out like a checkout: `data/secret` and `data/tessera.sqlite` inside. */
  dir: string;
  /** Environment that points another process at this one's data folder and database. */
  sameData: Record<string, string>;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (or the signal's name) once the process has ended. */
  exited: Promise<number | string>;
  /** Waits until `predicate` holds for stdout, or fails after `ms`. */
  waitForOutput(predicate: (stdout: string) => boolean, ms?: number): Promise<void>;
  /** Waits for the start-up banner that follows `listen`. */
  ready(ms?: number): Promise<void>;
  /** Kills the process if it still runs and removes its folder. */
  cleanup(): Promise<void>;
}

/** Starts `tessera start` with a fresh data folder, SQLite file and port; `env` overrides. */
export async function spawnTessera(
  env: Record<string, string> = {},
  args: string[] = [],
): Promise<Tessera> {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-ops-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
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
  const child = spawn(process.execPath, [...CLI, 'start', ...args], {
    env: {
      ...base,
      ...sameData,
      TESSERA_ISSUER: url,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk;
  });
  const exited = new Promise<number | string>((resolve) => {
    // 'close', not 'exit': by then stdout and stderr have been read to the end.
    child.once('close', (code, signal) => resolve(code ?? signal ?? -1));
  });
  let ended = false;
  void exited.then(() => {
    ended = true;
  });

  const waitForOutput = async (predicate: (stdout: string) => boolean, ms = 20_000) => {
    const deadline = Date.now() + ms;
    while (!predicate(out)) {
      if (ended) throw new Error(`tessera exited early.\nstdout:\n${out}\nstderr:\n${err}`);
      if (Date.now() > deadline) {
        throw new Error(`timed out waiting for tessera.\nstdout:\n${out}\nstderr:\n${err}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  return {
    child,
    port,
    url,
    dir,
    sameData,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitForOutput,
    ready: (ms) => waitForOutput((s) => s.includes('Tessera is running at'), ms),
    async cleanup() {
      if (!ended) {
        child.kill('SIGKILL');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
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
    const tessera = await spawnTessera(env, args);
    running.push(tessera);
    return tessera;
  };
}
