import type { FastifyBaseLogger } from 'fastify';
import type { AppContext, RuntimeConfig } from './context.js';
import { ApiCache } from './domain/api-cache.js';
import { ClientCache } from './domain/client-cache.js';
import { ClientKeys } from './domain/client-keys.js';
import { KeyRing } from './domain/keys.js';
import { MetadataDocuments } from './domain/metadata-documents.js';
import { openThrottle } from './domain/throttle.js';
import { Background } from './lib/background.js';
import { type Clock, epochSeconds } from './lib/clock.js';
import { openMailer } from './mail/mailer.js';
import { backchannelLogout } from './oauth/backchannel.js';
import { memoryCounters, redisCounters } from './store/counters.js';
import { type EventBus, localEventBus, redisEventBus } from './store/events.js';
import { SignInCache, withSignInCache } from './store/sign-in-cache.js';
import { TokenCache, withTokenCache } from './store/token-cache.js';
import type { Store } from './store/types.js';

export interface ComposeOptions {
  config: RuntimeConfig;
  /** The store as opened; whoever opened it closes it. The context's store wraps it. */
  store: Store;
  clock: Clock;
  log: FastifyBaseLogger;
  /** Cross-instance events; by default Redis when TESSERA_REDIS_URL is set, else none. */
  events?: EventBus;
  /**
   * A server answers requests for as long as it runs: access-token and sign-in lookups are
   * cached, the abuse limits count in Redis when there is one (shared by every instance), and
   * the signing keys are read again every 2 s. A command (the CLI) does one thing and exits:
   * nothing is cached, its limits count in process, and the keys are read once.
   */
  role: 'server' | 'command';
}

export interface Composed {
  ctx: AppContext;
  /**
   * Waits for the background work (at most `drainMs`, when given), then closes what the
   * composition opened: the event bus it made, the limits' counters, the key watch. Not the store.
   */
  close(options?: { drainMs?: number }): Promise<void>;
}

/** Waits until `background` is idle, or `ms` has passed. */
async function drain(background: Background, ms: number | undefined): Promise<void> {
  if (ms === undefined) return background.drain();
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    background.drain(),
    new Promise((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]);
  clearTimeout(timer);
}

/**
 * The app's context, written once: the store behind the token and sign-in caches, the key
 * ring, the client cache, the abuse limits, the event bus that ties instances together, the
 * session-ended hooks and the background queue. The server (app.ts) and every CLI command
 * (cli/context.ts) are built from it, so a command changes things exactly as a request would.
 */
export async function composeContext(options: ComposeOptions): Promise<Composed> {
  const { config, clock, log, role } = options;
  const server = role === 'server';
  // What was opened here, closed in reverse order.
  const opened: (() => Promise<void> | void)[] = [];
  const closeOpened = async () => {
    for (const close of opened.splice(0).reverse()) await close();
  };
  try {
    let events = options.events;
    if (!events) {
      const made = config.redisUrl ? await redisEventBus(config.redisUrl, log) : localEventBus();
      opened.push(() => made.close());
      events = made;
    }
    const bus = events;
    // A command's changes still pass through the cache's guard, so running servers forget their tokens.
    const tokenCache = new TokenCache(server ? config.tokenCache * 1_000 : 0, Date.now, () =>
      bus.publish({ type: 'tokens.changed' }),
    );
    // The sign-in records of browsers (sessions, persons, grants) by the same rules and setting,
    // cleared by the same writes and events.
    const signIns = new SignInCache(server ? config.tokenCache * 1_000 : 0);
    const store = withSignInCache(withTokenCache(options.store, tokenCache, [signIns]), signIns);
    const keys = await KeyRing.open({
      store: store.keys,
      secret: config.secret,
      clock,
      rotationDays: config.keyRotationDays,
      // A retired key stays published until everything it signed has expired, with a margin for clock skew.
      retireAfter: Math.max(config.accessTokenTtl, config.idTokenTtl) + 300,
      log,
      onChange: () => bus.publish({ type: 'keys.changed' }),
    });
    if (server) opened.push(keys.watch(2_000));
    // Counters of their own on Redis (not the event bus's connections).
    const counters =
      server && config.redisUrl
        ? await redisCounters(config.redisUrl, { prefix: config.rateLimitPrefix, log })
        : memoryCounters();
    const throttle = openThrottle(config, counters, bus);
    opened.push(() => throttle.close());

    const background = new Background(log);
    const mail = openMailer({
      smtpUrl: config.smtpUrl,
      from: config.mailFrom,
      siteName: config.siteName,
      issuer: config.issuer,
      // Without SMTP (never in production: parseConfig refuses it) mail is kept for /dev/outbox.
      ...(config.smtpUrl ? {} : { outbox: store.outbox }),
      now: () => epochSeconds(clock),
      log,
      background,
    });
    opened.push(() => mail.close());
    const ctx: AppContext = {
      config,
      store,
      clock,
      log,
      clients: new ClientCache(store.clients, 5_000, Date.now, (id) =>
        bus.publish({ type: 'client.changed', ...(id ? { id } : {}) }),
      ),
      apis: new ApiCache(store.apis, 5_000, Date.now, () => bus.publish({ type: 'apis.changed' })),
      clientKeys: new ClientKeys({
        secret: config.secret,
        timeoutMs: config.jwksUriTimeout,
        cacheSeconds: config.jwksUriCache,
        cooldownSeconds: config.jwksUriCooldown,
        production: config.nodeEnv === 'production',
        allowLoopback: config.cimdAllowLoopback,
        now: () => clock.now(),
        onFetchFailure: (client, url, error) =>
          log.warn(
            { clientId: client.id, jwksUri: url, reason: error.message, detail: error.detail },
            "a client's jwks_uri could not be used",
          ),
      }),
      keys,
      events: bus,
      throttle,
      // A session that ends, however it ends, is ended for its apps too (back-channel logout).
      hooks: { sessionEnded: [backchannelLogout] },
      background,
      mail,
    };
    // The APIs are read once before the first request, so no token request waits for them.
    if (server) await ctx.apis.get();
    // Client ID Metadata Documents (TESSERA_CIMD): URL client ids resolved by fetching them.
    if (config.cimd) ctx.clients.useDocuments(new MetadataDocuments(ctx));
    bus.subscribe((event) => {
      if (event.type === 'client.changed') ctx.clients.forget(event.id);
      else if (event.type === 'apis.changed') ctx.apis.forget();
      else if (event.type === 'tokens.changed') {
        tokenCache.forget();
        signIns.forget();
      } else if (event.type === 'keys.changed') {
        keys.refresh().catch((error) => log.warn({ err: error }, 'reloading signing keys failed'));
      }
    });
    return {
      ctx,
      async close(closing = {}) {
        // The apps of sessions ended just before are still told, within `drainMs`.
        await drain(ctx.background, closing.drainMs);
        await closeOpened();
      },
    };
  } catch (error) {
    await closeOpened().catch(() => {});
    throw error;
  }
}
