import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ReadyMessage, ReplyMessage } from './ipc.js';
import { type Pinning, pinnedCommand } from './pin.js';

export interface Child {
  name: string;
  pid: number;
  /** What the child announced when it was ready (its URL, …). */
  ready: ReadyMessage;
  call<T = unknown>(type: string, payload?: unknown): Promise<T>;
  /** Asks the child to stop, then kills it if it has not exited within a few seconds. */
  stop(): Promise<void>;
}

export interface ChildOptions {
  name: string;
  /** A .ts file under bench/servers, run through tsx. */
  script: URL;
  pinning: Pinning;
  env?: Record<string, string>;
  /** Extra node flags, e.g. --max-old-space-size. */
  nodeFlags?: string[];
  /** How long start-up may take. */
  timeoutMs?: number;
}

const tsxLoader = import.meta.resolve('tsx');

/** Lines a child writes on stderr that carry no information for a benchmark reader. */
const QUIET = [/ExperimentalWarning/, /--trace-warnings/];

function forwardStderr(name: string, child: ChildProcess): void {
  let pending = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      if (line.trim() && !QUIET.some((re) => re.test(line)))
        process.stderr.write(`  [${name}] ${line}\n`);
    }
  });
}

/** Starts a server or worker process (pinned to the server core when pinning is on) and waits for it. */
export function startChild(options: ChildOptions): Promise<Child> {
  const args = [
    process.execPath,
    ...(options.nodeFlags ?? []),
    '--import',
    tsxLoader,
    fileURLToPath(options.script),
  ];
  const [command, commandArgs] = pinnedCommand(options.pinning, args);
  const child = spawn(command, commandArgs, {
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    env: { ...process.env, ...options.env },
  });
  forwardStderr(options.name, child);

  let nextId = 1;
  const waiting = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  let exited = false;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = true;
      for (const { reject } of waiting.values())
        reject(new Error(`${options.name} exited (${signal ?? code}) before answering`));
      waiting.clear();
      resolve();
    });
  });

  return new Promise<Child>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${options.name} did not start within ${options.timeoutMs ?? 60_000} ms`));
    }, options.timeoutMs ?? 60_000);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${options.name} exited during start-up (${signal ?? code})`));
    });
    child.on('message', (message: ReadyMessage | ReplyMessage) => {
      if ('type' in message && message.type === 'ready') {
        clearTimeout(timer);
        const call = <T>(type: string, payload?: unknown): Promise<T> => {
          if (exited) return Promise.reject(new Error(`${options.name} has exited`));
          const id = nextId++;
          return new Promise<T>((res, rej) => {
            waiting.set(id, { resolve: res as (value: unknown) => void, reject: rej });
            child.send({ id, type, payload });
          });
        };
        const stop = async () => {
          if (exited) return;
          const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
          try {
            await call('stop');
          } catch {
            // It may exit before the reply arrives.
          }
          await exit;
          clearTimeout(killer);
        };
        resolve({ name: options.name, pid: child.pid!, ready: message, call, stop });
        return;
      }
      const reply = message as ReplyMessage;
      const entry = waiting.get(reply.id);
      if (!entry) return;
      waiting.delete(reply.id);
      if (reply.ok) entry.resolve(reply.result);
      else entry.reject(new Error(`${options.name}: ${reply.error}`));
    });
  });
}
