import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.js';
import { authenticateClient } from './client-auth.js';
import { UnauthorizedClient, UnsupportedGrantType } from './errors.js';
import { enabledGrants } from './grants/index.js';
import { bodyParams, requireParam } from './params.js';

/** The token endpoint (RFC 6749 §3.2): authenticate the client, then dispatch on grant_type. */
export function registerTokenEndpoint(app: FastifyInstance, ctx: AppContext): void {
  const grants = enabledGrants(ctx.config);
  app.post('/token', async (request, reply) => {
    reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
    const params = bodyParams(request.body);
    const grantType = requireParam(params, 'grant_type');
    const grant = grants.get(grantType);
    const { client } = await authenticateClient(ctx, request, params);
    if (!grant) throw new UnsupportedGrantType(`grant_type "${grantType}" is not supported`);
    if (!client.grantTypes.includes(grantType)) {
      throw new UnauthorizedClient(`this client is not allowed the ${grantType} grant`);
    }
    return grant.handle(ctx, client, params, request);
  });
}
