import { randomUUID } from 'node:crypto';
import cookie from '@fastify/cookie';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { Logger as PinoLogger, LoggerOptions as PinoOptions } from 'pino';
import { registerAdminRoutes } from './admin/routes.js';
import { registerApiRoutes } from './api/routes.js';
import { composeContext } from './compose.js';
import { parseTrustProxy } from './config.js';
import type { AppContext, RuntimeConfig } from './context.js';
import { BODY_LIMIT, registerBodyParsers } from './http/body.js';
import { browserSession } from './http/browser-session.js';
import { registerCors } from './http/cors.js';
import { answerFrameworkError, registerErrorHandler } from './http/errors.js';
import { registerInputCheck } from './http/input.js';
import { LOG_SERIALIZERS } from './http/log.js';
import { registerClientLimits } from './http/rate-limit.js';
import { registerSecurityHeaders } from './http/security.js';
import { type Clock, systemClock } from './lib/clock.js';
import { registerDiscovery } from './oauth/discovery.js';
import { corsPaths, registerOAuthRoutes } from './oauth/routes.js';
import { registerHealthRoutes } from './ops/health.js';
import type { EventBus } from './store/events.js';
import type { Store } from './store/types.js';
import { registerAssets } from './ui/assets.js';
import { protocolViews } from './ui/pages/protocol-views.js';
import { errorPages } from './ui/render.js';
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

  const composed = await composeContext({
    config: options.config,
    store: options.store,
    clock: options.clock ?? systemClock,
    log: app.log,
    role: 'server',
    ...(options.events ? { events: options.events } : {}),
  });
  const { ctx } = composed;
  const { config } = ctx;
  app.decorate('tessera', ctx);
  // Apps of sessions ended just before a shutdown are still told, within reason.
  app.addHook('onClose', async () => composed.close({ drainMs: 5_000 }));

  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
  });
  await app.register(cookie);
  registerBodyParsers(app);
  registerInputCheck(app);
  registerSecurityHeaders(app, { https: config.issuer.startsWith('https:') });
  registerErrorHandler(app, errorPages(config.issuerPath));

  // At the host's root whatever the issuer (a probe asks the process, not one issuer), and under
  // the issuer's path too, for a proxy that forwards only that path.
  registerHealthRoutes(app, ctx);
  // Hooks that look at routes as they are added or at every request, so before any route.
  registerClientLimits(app, ctx);
  registerCors(app, corsPaths(config.issuerPath, { registration: config.registration !== 'off' }), {
    dpop: config.dpop,
  });
  // The metadata at each form clients try, two of which lie outside the issuer's path.
  registerDiscovery(app, ctx);
  // Everything else lives under the issuer's path (none for an issuer without one): one Fastify
  // prefix at start-up, so routing does the work and no request is rewritten.
  await app.register(
    async (issuerScope) => {
      if (config.issuerPath !== '') registerHealthRoutes(issuerScope, ctx);
      registerAssets(issuerScope);
      registerUiRoutes(issuerScope, ctx);
      registerApiRoutes(issuerScope, ctx);
      registerAdminRoutes(issuerScope, ctx);
      await registerOAuthRoutes(issuerScope, ctx, protocolViews(ctx), browserSession(ctx));
    },
    { prefix: config.issuerPath },
  );

  return app;
}
