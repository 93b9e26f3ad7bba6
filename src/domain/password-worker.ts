import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Options } from '@node-rs/argon2';

/**
 * Password hashing off the event loop, at a lower CPU priority than it.
 *
 * An argon2id hash keeps a core busy for tens of milliseconds. On the thread
 * pool, four run at once at the same priority as the event loop, so a burst of
 * sign-ins on a small machine takes the cores from every token request. Here
 * the hashes run in worker threads (one per core but the event loop's) that
 * lower their own priority on Linux, where niceness is per thread: when the
 * machine is busy the event loop comes first, and when it is not, sign-ins run
 * at full speed. The threads run password-hasher.js.
 */

/** What the hashing threads are asked, numbered so that replies find their caller. */
export type HasherRequest =
  | { id: number; op: 'hash'; password: string; options: Options }
  | { id: number; op: 'verify'; hash: string; password: string };

export interface HasherReply {
  id: number;
  result?: string | boolean;
  error?: string;
}

/**
 * Niceness of the hashing threads: a sixth of the event loop's weight. Measured with the
 * benchmark's scenario f on one core: 5 let a's p99 rise 1.6 to 2.6 times, 8 rose 1.6 to 2.2
 * times with sign-ins still at 11 to 15 a second; 10 kept it at 1.03 times but let 3 through.
 */
const NICE = 8;

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
}

interface HashWorker {
  worker: Worker;
  /** Its requests not yet answered, by id. */
  pending: Map<number, Pending>;
}

const size = Math.max(1, availableParallelism() - 1);
const workers: HashWorker[] = [];
let nextId = 0;

function spawn(): HashWorker {
  const worker = new Worker(new URL('./password-hasher.js', import.meta.url), {
    workerData: { nice: NICE },
  });
  const entry: HashWorker = { worker, pending: new Map() };
  worker.on('message', ({ id, result, error }: HasherReply) => {
    const waiting = entry.pending.get(id);
    entry.pending.delete(id);
    if (entry.pending.size === 0) worker.unref();
    if (error !== undefined) waiting?.reject(new Error(error));
    else waiting?.resolve(result);
  });
  worker.on('error', (error) => {
    // A crashed worker fails what it held and is replaced on the next call.
    workers.splice(workers.indexOf(entry), 1);
    for (const waiting of entry.pending.values()) waiting.reject(error);
    entry.pending.clear();
  });
  // An idle worker must not keep the process alive; one with work must (see call).
  worker.unref();
  return entry;
}

/** The least busy worker, starting new ones up to the pool size. */
function pick(): HashWorker {
  const idle = workers.find((w) => w.pending.size === 0);
  if (idle) return idle;
  if (workers.length < size) {
    const fresh = spawn();
    workers.push(fresh);
    return fresh;
  }
  return workers.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
}

type Unnumbered<T> = T extends unknown ? Omit<T, 'id'> : never;

function call<T>(message: Unnumbered<HasherRequest>): Promise<T> {
  const entry = pick();
  const id = nextId++;
  if (entry.pending.size === 0) entry.worker.ref();
  return new Promise<T>((resolve, reject) => {
    entry.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
    entry.worker.postMessage({ id, ...message } satisfies HasherRequest);
  });
}

export const hashInWorker = (password: string, options: Options): Promise<string> =>
  call<string>({ op: 'hash', password, options });

export const verifyInWorker = (hash: string, password: string): Promise<boolean> =>
  call<boolean>({ op: 'verify', hash, password });
