/**
 * The kit as a Fastify plugin: the metadata route, `app.requireToken(scopes)` and `request.auth`.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { bearerToken, hasQueryToken, refusal } from './answers.js';
import { TokenError } from './errors.js';
import { metadataPath, protectedResourceMetadata } from './metadata.js';
import type { ResourceOptions, TokenInfo, TokenVerifier } from './types.js';
import { createTokenVerifier } from './verifier.js';

/** A preHandler that lets the request through only with a valid token carrying the scopes. */
export type RequireToken = (request: FastifyRequest, reply: FastifyReply) => Promise<void>;

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * A preHandler hook that requires a valid access token for this resource with every scope
     * of `scopes`, and sets `request.auth`. Added by the `tesseraResource` plugin.
     */
    requireToken(scopes?: string[]): RequireToken;
    /** The plugin's token verifier, to check a token by hand (a WebSocket upgrade, a job). */
    tokenVerifier: TokenVerifier;
  }
  interface FastifyRequest {
    /** The checked access token, set by a `requireToken` preHandler. */
    auth?: TokenInfo;
  }
}

const plugin: FastifyPluginAsync<ResourceOptions> = async (app, options) => {
  const verifier = createTokenVerifier(options);
  const document = protectedResourceMetadata(options);

  app.get(metadataPath(options.resource).split('?')[0]!, async (_request, reply) => {
    // Browser-based clients (an MCP inspector) read it from another origin.
    reply
      .header('access-control-allow-origin', '*')
      .header('cache-control', 'public, max-age=3600');
    return document;
  });

  if (!app.hasRequestDecorator('auth')) app.decorateRequest('auth', undefined);
  app.decorate('tokenVerifier', verifier);
  app.decorate('requireToken', (scopes: string[] = []): RequireToken => {
    return async (request, reply) => {
      try {
        const token = bearerToken(request.headers.authorization, hasQueryToken(request.url));
        request.auth = await verifier.verify(token, scopes);
      } catch (error) {
        if (!(error instanceof TokenError)) throw error;
        const answer = refusal(error, options.resource);
        return reply.code(answer.status).headers(answer.headers).send(answer.body);
      }
    };
  });
};

// fastify-plugin's effect without the dependency: the decorators land on the app that registers
// the plugin, not in a context of their own (for a second resource, register it in a child context).
Object.assign(plugin, {
  [Symbol.for('skip-override')]: true,
  [Symbol.for('fastify.display-name')]: 'tessera-resource',
});

/**
 * Fastify plugin: serves the protected resource metadata (RFC 9728) at
 * `metadataPath(resource)`, decorates `app.requireToken(scopes?)` (a preHandler answering
 * 401 / 403 / 400 with `WWW-Authenticate: Bearer …`) and `request.auth`.
 *
 * @example
 * ```ts
 * import Fastify from 'fastify';
 * import { tesseraResource } from 'tessera/resource';
 *
 * const app = Fastify();
 * await app.register(tesseraResource, {
 *   issuer: 'https://id.example.com',
 *   resource: 'https://api.example.com/orders',
 *   scopesSupported: ['orders:read', 'orders:write'],
 * });
 * app.get('/orders', { preHandler: app.requireToken(['orders:read']) }, async (request) =>
 *   listOrders(request.auth!.extra.sub),
 * );
 * ```
 */
export const tesseraResource: FastifyPluginAsync<ResourceOptions> = plugin;
