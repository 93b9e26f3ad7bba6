import { randomUUID } from 'node:crypto';
import cookie from '@fastify/cookie';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { Logger as PinoLogger, LoggerOptions as PinoOptions } from 'pino';
import { registerAdminRoutes } from './admin/routes.js';
import { registerApiRoutes } from './api/routes.js';
import { parseTrustProxy } from './config.js';
import type { AppContext, RuntimeConfig } from './context.js';
import { ClientCache } from './domain/client-cache.js';
import { KeyRing } from './domain/keys.js';
import { openThrottle } from './domain/throttle.js';
import { BODY_LIMIT, registerBodyParsers } from './http/body.js';
import { browserSession } from './http/browser-session.js';
import { registerCors } from './http/cors.js';
import { answerFrameworkError, registerErrorHandler } from './http/errors.js';
import { registerInputCheck } from './http/input.js';
import { LOG_SERIALIZERS } from './http/log.js';
import { registerClientLimits } from './http/rate-limit.js';
import { registerSecurityHeaders } from './http/security.js';
import { Background } from './lib/background.js';
import { type Clock, systemClock } from './lib/clock.js';
import { CORS_PATHS, registerOAuthRoutes } from './oauth/routes.js';
import { registerHealthRoutes } from './ops/health.js';
import { memoryCounters, redisCounters } from './store/counters.js';
import { type EventBus, localEventBus, redisEventBus } from './store/events.js';
import { TokenCache, withTokenCache } from './store/token-cache.js';
import type { Store } from './store/types.js';
import { registerAssets } from './ui/assets.js';
import { protocolViews } from './ui/pages/protocol-views.js';
import { errorPage } from './ui/render.js';
import { registerUiRoutes } from './ui/routes.js';

export interface BuildOptions {
  config: RuntimeConfig;
  store: Store;
  clock?: Clock;
  /** Cross-instance events; by default Redis when TESSERA_REDIS_URL is set, else none. */
  events?: EventBus;
  /** Fastify's logger option: pino options, a pino instance, or false (tests). */
  logger?: FastifyServerOptions['logger'] | FastifyServerOptions['loggerInstance'];
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The context the routes were built with; tests reach the store and clock through it. */
    tessera: AppContext;
  }
}

const REQUEST_ID = /^[\w.-]{1,64}$/;

/** Fastify's logger option, with requests serialised without secrets (http/log.ts). */
function loggerOptions(
  logger: NonNullable<BuildOptions['logger']>,
): Pick<FastifyServerOptions, 'logger' | 'loggerInstance'> {
  if (logger === false) return { logger: false };
  if (typeof logger === 'object' && 'child' in logger) {
    const instance = logger as PinoLogger;
    return { loggerInstance: instance.child({}, { serializers: LOG_SERIALIZERS }) };
  }
  const base = typeof logger === 'object' ? logger : {};
  return {
    logger: { ...base, serializers: { ...base.serializers, ...LOG_SERIALIZERS } } as PinoOptions,
  };
}

/**
 * The composition root: builds the whole app from its dependencies without
 * listening. main.ts listens; tests call this and `inject()`.
 */
export async function buildApp(options: BuildOptions): Promise<FastifyInstance> {
  const app = Fastify({
    ...loggerOptions(options.logger ?? false),
    bodyLimit: BODY_LIMIT,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 500 },
    // Per-address limits count by request.ip: behind a proxy, the address it forwards.
    trustProxy: parseTrustProxy(options.config.trustProxy) ?? false,
    requestIdHeader: false,
    frameworkErrors: answerFrameworkError,
    genReqId: (request) => {
      const incoming = request.headers['x-request-id'];
      return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    },
  });

  const clock = options.clock ?? systemClock;
  const { config } = options;
  const events =
    options.events ??
    (config.redisUrl ? await redisEventBus(config.redisUrl, app.log) : localEventBus());
  if (!options.events) app.addHook('onClose', async () => events.close());
  const tokenCache = new TokenCache(config.tokenCache * 1_000, Date.now, () =>
    events.publish({ type: 'tokens.changed' }),
  );
  const store = withTokenCache(options.store, tokenCache);
  const keys = await KeyRing.open({
    store: store.keys,
    secret: config.secret,
    clock,
    rotationDays: config.keyRotationDays,
    // A retired key stays published until everything it signed has expired, with a margin for clock skew.
    retireAfter: Math.max(config.accessTokenTtl, config.idTokenTtl) + 300,
    log: app.log,
    onChange: () => events.publish({ type: 'keys.changed' }),
  });
  const stopWatchingKeys = keys.watch(2_000);
  app.addHook('onClose', async () => stopWatchingKeys());

  // Counters of their own on Redis (not the event bus's connections), closed with the app.
  const counters = config.redisUrl
    ? await redisCounters(config.redisUrl, { prefix: config.rateLimitPrefix, log: app.log })
    : memoryCounters();
  const throttle = openThrottle(config, counters, events);
  app.addHook('onClose', async () => throttle.close());

  const ctx: AppContext = {
    config,
    store,
    clock,
    log: app.log,
    clients: new ClientCache(store.clients, 5_000, Date.now, (id) =>
      events.publish({ type: 'client.changed', ...(id ? { id } : {}) }),
    ),
    keys,
    events,
    throttle,
    hooks: { sessionEnded: [] },
    background: new Background(app.log),
  };
  events.subscribe((event) => {
    if (event.type === 'client.changed') ctx.clients.forget(event.id);
    else if (event.type === 'tokens.changed') tokenCache.forget();
    else if (event.type === 'keys.changed') {
      keys
        .refresh()
        .catch((error) => app.log.warn({ err: error }, 'reloading signing keys failed'));
    }
  });
  app.decorate('tessera', ctx);
  // Apps of sessions ended just before a shutdown are still told, within reason.
  app.addHook('onClose', async () => {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      ctx.background.drain(),
      new Promise((resolve) => {
        timer = setTimeout(resolve, 5_000);
      }),
    ]);
    clearTimeout(timer);
  });

  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
  });
  await app.register(cookie);
  registerBodyParsers(app);
  registerInputCheck(app);
  registerSecurityHeaders(app, { https: config.issuer.startsWith('https:') });
  registerErrorHandler(app, errorPage);

  registerHealthRoutes(app, ctx);
  registerAssets(app);
  registerUiRoutes(app, ctx);
  registerApiRoutes(app, ctx);
  registerAdminRoutes(app, ctx);
  registerClientLimits(app, ctx);
  registerCors(app, CORS_PATHS);
  await registerOAuthRoutes(app, ctx, protocolViews(ctx), browserSession(ctx));

  return app;
}
