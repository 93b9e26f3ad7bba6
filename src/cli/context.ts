import pino from 'pino';
import type { AppContext, RuntimeConfig } from '../context.js';
import { ClientCache } from '../domain/client-cache.js';
import { KeyRing } from '../domain/keys.js';
import { openThrottle } from '../domain/throttle.js';
import { Background } from '../lib/background.js';
import { systemClock } from '../lib/clock.js';
import { backchannelLogout } from '../oauth/backchannel.js';
import { memoryCounters } from '../store/counters.js';
import { type EventBus, localEventBus, redisEventBus } from '../store/events.js';
import { openStore } from '../store/kysely/index.js';
import { PATIENT_BUSY_POLICY } from '../store/kysely/sqlite-busy.js';
import { TokenCache, withTokenCache } from '../store/token-cache.js';

/**
 * The same context the server builds, for one CLI command: the configured
 * store, and Redis (when configured) so running servers hear of changes at once.
 */
export async function withContext<T>(
  config: RuntimeConfig,
  work: (ctx: AppContext) => Promise<T>,
): Promise<T> {
  const log = pino(
    { level: config.logLevel === 'info' ? 'warn' : config.logLevel },
    pino.destination(2),
  );
  const opened = await openStore(config.database, { busy: PATIENT_BUSY_POLICY });
  let events: EventBus = localEventBus();
  try {
    if (config.redisUrl) events = await redisEventBus(config.redisUrl, log);
    // Through the cache's guard, so a change made here tells running servers to forget their tokens.
    const store = withTokenCache(
      opened,
      new TokenCache(0, Date.now, () => events.publish({ type: 'tokens.changed' })),
    );
    const background = new Background(log);
    const keys = await KeyRing.open({
      store: store.keys,
      secret: config.secret,
      clock: systemClock,
      rotationDays: config.keyRotationDays,
      retireAfter: Math.max(config.accessTokenTtl, config.idTokenTtl) + 300,
      log,
      onChange: () => events.publish({ type: 'keys.changed' }),
    });
    const ctx: AppContext = {
      config,
      store,
      clock: systemClock,
      log,
      clients: new ClientCache(store.clients, 5_000, Date.now, (id) =>
        events.publish({ type: 'client.changed', ...(id ? { id } : {}) }),
      ),
      keys,
      events,
      // A command answers no requests, so its limits need not be shared.
      throttle: openThrottle(config, memoryCounters(), events),
      // A session a command ends is ended for its apps too (back-channel logout).
      hooks: { sessionEnded: [backchannelLogout] },
      background,
    };
    try {
      return await work(ctx);
    } finally {
      // The apps of sessions a command ended are told before it exits.
      await background.drain();
    }
  } finally {
    await events.close();
    await opened.close();
  }
}
