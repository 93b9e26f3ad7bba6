import type { FastifyBaseLogger } from 'fastify';
import type { Config } from './config.js';
import type { ApiCache } from './domain/api-cache.js';
import type { ClientCache } from './domain/client-cache.js';
import type { ClientKeys } from './domain/client-keys.js';
import type { KeyRing } from './domain/keys.js';
import type { Mailer } from './domain/mail.js';
import type { SessionEndedHook } from './domain/sessions.js';
import type { Throttle } from './domain/throttle.js';
import type { Background } from './lib/background.js';
import { type Clock, epochSeconds } from './lib/clock.js';
import type { EventBus } from './store/events.js';
import type { Store } from './store/types.js';

/** Configuration once the instance secret is known. */
export type RuntimeConfig = Config & { secret: string };

/** What every part of the app is built from; compose.ts assembles it, tests pass their own pieces. */
export interface AppContext {
  config: RuntimeConfig;
  store: Store;
  clock: Clock;
  log: FastifyBaseLogger;
  /** Clients by id, cached; anything that changes a client calls `clients.invalidate(id)`. */
  clients: ClientCache;
  /** Every registered API, cached; anything that changes an API calls `apis.invalidate()`. */
  apis: ApiCache;
  /** What checks the JWTs clients sign: their keys and client_secret_jwt secrets, made ready once. */
  clientKeys: ClientKeys;
  /** The signing keys: current, standby and retired, with the published JWKS. */
  keys: KeyRing;
  /** Tells other instances about changes (Redis), or nobody when there is one instance. */
  events: EventBus;
  /** The abuse limits: password guessing, sign-ups, failed client requests. */
  throttle: Throttle;
  /** What must happen on domain events, whoever causes them (back-channel logout when a session ends). */
  hooks: { sessionEnded: SessionEndedHook[] };
  /** Work no request waits for (the session-ended hooks); drained when the app closes. */
  background: Background;
  /** Mail to people (codes, links, security notices), sent without holding up the request. */
  mail: Mailer;
}

/** Seconds since the epoch by the context's clock. */
export const nowSeconds = (ctx: Pick<AppContext, 'clock'>): number => epochSeconds(ctx.clock);
