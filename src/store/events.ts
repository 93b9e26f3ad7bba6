import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';

/** What one instance tells the others. */
export type TesseraEvent =
  | { type: 'client.changed'; id?: string }
  /** An API was created, changed or deleted: every instance reloads its list (domain/api-cache.ts). */
  | { type: 'apis.changed' }
  | { type: 'keys.changed' }
  | { type: 'tokens.changed' }
  /** An abuse limit refuses `key` for `ms` milliseconds from now (domain/client-failures.ts). */
  | { type: 'limit.blocked'; key: string; ms: number };

/**
 * Cross-instance notifications. With Redis (TESSERA_REDIS_URL) every instance
 * hears every other's events at once; without it there is one instance and
 * nobody to tell, and caches fall back on their short time-to-live.
 */
export interface EventBus {
  readonly kind: 'local' | 'redis';
  publish(event: TesseraEvent): void;
  subscribe(handler: (event: TesseraEvent) => void): void;
  close(): Promise<void>;
}

export function localEventBus(): EventBus {
  return { kind: 'local', publish() {}, subscribe() {}, close: async () => {} };
}

const CHANNEL = 'tessera:events';

interface Logger {
  warn(obj: object, msg: string): void;
}

/** An event bus over Redis pub/sub; an instance ignores its own messages. */
export async function redisEventBus(url: string, log?: Logger): Promise<EventBus> {
  const origin = randomUUID();
  const options = { lazyConnect: true, maxRetriesPerRequest: 2 };
  const publisher = new Redis(url, options);
  const subscriber = new Redis(url, options);
  for (const connection of [publisher, subscriber]) {
    connection.on('error', (error) => log?.warn({ err: error }, 'redis connection error'));
  }
  await Promise.all([publisher.connect(), subscriber.connect()]);
  const handlers: ((event: TesseraEvent) => void)[] = [];
  await subscriber.subscribe(CHANNEL);
  subscriber.on('message', (_channel, text: string) => {
    try {
      const { from, event } = JSON.parse(text) as { from: string; event: TesseraEvent };
      if (from === origin) return;
      for (const handler of handlers) handler(event);
    } catch (error) {
      log?.warn({ err: error }, 'ignored a malformed event');
    }
  });
  return {
    kind: 'redis',
    publish(event) {
      publisher
        .publish(CHANNEL, JSON.stringify({ from: origin, event }))
        .catch((error) => log?.warn({ err: error, event }, 'could not publish an event'));
    },
    subscribe(handler) {
      handlers.push(handler);
    },
    async close() {
      subscriber.disconnect();
      await publisher.quit().catch(() => publisher.disconnect());
    },
  };
}
