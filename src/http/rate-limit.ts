import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import type { AppContext } from '../context.js';
import { TooManyAttempts } from '../domain/errors.js';
import { authenticateClient } from '../oauth/client-auth.js';
import { presentedClientId } from '../oauth/client-id.js';
import { OAuthError } from '../oauth/errors.js';
import { bodyParams } from '../oauth/params.js';

/** The endpoints where a client proves itself: failures there are counted per address and client. */
const CLIENT_ENDPOINTS = new Set([
  '/token',
  '/par',
  '/introspect',
  '/revoke',
  '/device_authorization',
]);

type Hook<F> = F | F[] | undefined;
const hooks = <F>(hook: Hook<F>): F[] =>
  hook === undefined ? [] : Array.isArray(hook) ? hook : [hook];

/**
 * The limits on failed client requests (domain/client-failures.ts), hooked
 * onto /token, /par, /introspect and /revoke as they are registered, so the
 * protocol code stays as it is: before the handler, a blocked request is
 * refused with 429 and `Retry-After`, from memory; after an error, the failure
 * is counted. Successful requests are never counted. Register before the OAuth routes.
 */
export function registerClientLimits(app: FastifyInstance, ctx: AppContext): void {
  const limits = ctx.throttle.clients;

  // A callback hook, not an async one: while nothing is blocked, the hot path allocates nothing here.
  function refuseBlocked(
    request: FastifyRequest,
    _reply: FastifyReply,
    done: (error?: Error) => void,
  ): void {
    if (!limits.blocking()) {
      done();
      return;
    }
    limits
      .refusedFor(request.ip, presentedClientId(request), () => verifies(request))
      .then((wait) => {
        done(
          wait === 0
            ? undefined
            : new TooManyAttempts(
                wait,
                `too many failed requests from this address or for this client: try again in ${wait} seconds`,
              ),
        );
      }, done);
  }

  /** Whether the request's client credentials are good (asked only while its client is blocked). */
  async function verifies(request: FastifyRequest): Promise<boolean> {
    try {
      await authenticateClient(ctx, request, bodyParams(request.body));
      return true;
    } catch {
      return false;
    }
  }

  async function countFailure(
    request: FastifyRequest,
    _reply: FastifyReply,
    error: Error,
  ): Promise<void> {
    if (!(error instanceof OAuthError)) return;
    try {
      const clientId = presentedClientId(request);
      const client = clientId === undefined ? undefined : await ctx.clients.get(clientId);
      await limits.failed(error.error, request.ip, clientId, client?.type === 'public');
    } catch (failure) {
      // Counting must never turn a 4xx into a 500; the insurance counters make this rare.
      request.log.warn({ err: failure }, 'could not count a failed client request');
    }
  }

  // Routes are registered under the issuer's path (app.ts), and their URL holds it.
  const endpoints = new Set([...CLIENT_ENDPOINTS].map((path) => `${ctx.config.issuerPath}${path}`));
  app.addHook('onRoute', (route: RouteOptions) => {
    const methods = hooks(route.method);
    if (!endpoints.has(route.url) || !methods.includes('POST')) return;
    route.preHandler = [...hooks(route.preHandler), refuseBlocked];
    route.onError = [...hooks(route.onError), countFailure];
  });
}
