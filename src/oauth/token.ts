import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.js';
import { authenticateClient, presentsClientCredentials } from './client-auth.js';
import { UnauthorizedClient, UnsupportedGrantType } from './errors.js';
import { GRANTS } from './grants/index.js';
import { bodyParams, requireParam } from './params.js';

/** The token endpoint (RFC 6749 §3.2): authenticate the client, then dispatch on grant_type. */
export function registerTokenEndpoint(app: FastifyInstance, ctx: AppContext): void {
  app.post('/token', async (request, reply) => {
    reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
    const params = bodyParams(request.body);
    const grantType = requireParam(params, 'grant_type');
    const grant = GRANTS.get(grantType);
    // A grant that proves its own client (JWT bearer) may come without client credentials.
    const client =
      grant?.authenticate && !presentsClientCredentials(request, params)
        ? await grant.authenticate(ctx, request, params)
        : (await authenticateClient(ctx, request, params)).client;
    if (!grant) throw new UnsupportedGrantType(`grant_type "${grantType}" is not supported`);
    if (!client.grantTypes.includes(grantType)) {
      throw new UnauthorizedClient(`this client is not allowed the ${grantType} grant`);
    }
    return grant.handle(ctx, client, params, request);
  });
}
