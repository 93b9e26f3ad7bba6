import { Redis } from 'ioredis';
import {
  type RateLimiterAbstract,
  RateLimiterMemory,
  RateLimiterRedis,
} from 'rate-limiter-flexible';

/** One kind of counter: how many points a key may spend within `duration` seconds. */
export interface CounterOptions {
  /** Names the counter in its keys; unique among the counters of one app. */
  name: string;
  points: number;
  /** Seconds from a key's first point until its count starts again at 0. */
  duration: number;
  /** When a key spends more than `points`, it is refused for this many seconds (0: until the window ends). */
  blockDuration?: number;
}

/**
 * Where the abuse-limit counters live (rate-limiter-flexible): in this process,
 * or in Redis so that every instance counts together. A Redis counter has an
 * in-process insurance: while Redis cannot be reached, each instance counts on
 * its own instead of failing the request.
 */
export interface Counters {
  readonly kind: 'memory' | 'redis';
  counter(options: CounterOptions): RateLimiterAbstract;
  close(): Promise<void>;
}

interface Logger {
  warn(obj: object, msg: string): void;
}

export function memoryCounters(): Counters {
  return {
    kind: 'memory',
    counter: ({ name, points, duration, blockDuration = 0 }) =>
      new RateLimiterMemory({ keyPrefix: name, points, duration, blockDuration }),
    close: async () => {},
  };
}

/**
 * Counters in Redis, on a connection of their own. Commands are not queued
 * while the connection is down and time out after `commandTimeout` ms, so an
 * outage costs a request at most that long before the insurance answers.
 * Resolves once connected, or on the first failure to connect or after
 * `connectTimeout` ms (then the insurance counts until Redis is back), so
 * that the first requests after a start are counted where all the others are.
 */
export async function redisCounters(
  url: string,
  options: { prefix: string; log?: Logger; commandTimeout?: number; connectTimeout?: number },
): Promise<Counters> {
  const client = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: options.commandTimeout ?? 500,
  });
  // Logged once per outage: ioredis reports every failed reconnection.
  let down = false;
  client.on('error', (error) => {
    if (down) return;
    down = true;
    options.log?.warn(
      { err: error },
      'redis for the abuse limits is unreachable: each instance counts on its own until it is back',
    );
  });
  client.on('ready', () => {
    down = false;
  });
  await new Promise<void>((resolve) => {
    const timer = setTimeout(done, options.connectTimeout ?? 2_000);
    client.once('ready', done);
    client.once('error', done);
    function done() {
      clearTimeout(timer);
      client.off('ready', done);
      client.off('error', done);
      resolve();
    }
  });
  return {
    kind: 'redis',
    counter: ({ name, points, duration, blockDuration = 0 }) =>
      new RateLimiterRedis({
        storeClient: client,
        keyPrefix: `${options.prefix}${name}`,
        points,
        duration,
        blockDuration,
        rejectIfRedisNotReady: true,
        insuranceLimiter: new RateLimiterMemory({
          keyPrefix: `insurance:${name}`,
          points,
          duration,
          blockDuration,
        }),
      }),
    async close() {
      await client.quit().catch(() => client.disconnect());
    },
  };
}
