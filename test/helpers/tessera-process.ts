import { type ChildProcess, spawn } from 'node:child_process';
import { CLI } from './cli.js';

/*
 * `tessera start` as an operator runs it, in a child process, from the sources (helpers/cli.ts). It
 * listens on a port the system chooses (PORT=0) and the test reads that port where an operator
 * would, in the start-up banner's `Listening on` line.
 */

export interface TesseraProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (or the signal's name) once the process has ended. */
  exited: Promise<number | string>;
  /**
   * Resolves as soon as `predicate` holds for stdout (checked on each chunk that arrives); fails
   * if the process ends first, or after `ms`.
   */
  waitForOutput(predicate: (stdout: string) => boolean, ms?: number): Promise<void>;
  /** Waits for the start-up banner; resolves with the URL the server listens on. */
  ready(ms?: number): Promise<string>;
  /** The URL it listens on, from the banner: known once ready() has resolved. */
  readonly url: string;
  readonly port: number;
}

const LISTENING = /^ {2}Listening on (http:\/\/\S+)\n/m;

/** Starts `tessera start ...args` on exactly `env`, with PORT=0 and HOST=127.0.0.1 unless `env` says otherwise. */
export function startTessera(env: NodeJS.ProcessEnv, args: string[] = []): TesseraProcess {
  const child = spawn(process.execPath, [...CLI, 'start', ...args], {
    env: { PORT: '0', HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  let ended = false;
  const watchers = new Set<() => void>();
  const wake = () => {
    for (const watcher of [...watchers]) watcher();
  };
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
    wake();
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk;
  });
  const exited = new Promise<number | string>((resolve) => {
    // 'close', not 'exit': by then stdout and stderr have been read to the end.
    child.once('close', (code, signal) => {
      ended = true;
      resolve(code ?? signal ?? -1);
      wake();
    });
  });

  const waitForOutput = (predicate: (stdout: string) => boolean, ms = 20_000) =>
    new Promise<void>((resolve, reject) => {
      const finish = (settle: () => void) => {
        clearTimeout(timer);
        watchers.delete(watch);
        settle();
      };
      const fail = (why: string) =>
        finish(() => reject(new Error(`${why}.\nstdout:\n${out}\nstderr:\n${err}`)));
      // A deadline for a failing test, not a pause: it ends as soon as the output arrives.
      const timer = setTimeout(() => fail(`timed out waiting for tessera after ${ms} ms`), ms);
      const watch = () => {
        if (predicate(out)) finish(resolve);
        else if (ended) fail('tessera exited early');
      };
      watchers.add(watch);
      watch();
    });

  let url: string | undefined;
  const known = () => {
    if (!url) throw new Error('the port is known once ready() has resolved');
    return new URL(url);
  };
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitForOutput,
    async ready(ms) {
      await waitForOutput((s) => LISTENING.test(s), ms);
      url = LISTENING.exec(out)![1]!;
      return url;
    },
    get url() {
      return known().origin;
    },
    get port() {
      return Number(known().port);
    },
  };
}
