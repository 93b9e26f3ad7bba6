import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type AppContext, nowSeconds } from '../context.js';
import type { Client } from '../store/types.js';
import { authenticateClient, presentsClientCredentials } from './client-auth.js';
import { checkDpopProof, type DpopProof } from './dpop.js';
import { currentDpopNonce } from './dpop-nonce.js';
import { InvalidRequest, UnauthorizedClient, UnsupportedGrantType } from './errors.js';
import { offeredGrant } from './grants/index.js';
import { bodyParams, requireParam } from './params.js';

/**
 * The request's DPoP proof (RFC 9449 §5), checked, when it carries one and DPoP is on. A request
 * without the header costs nothing more than reading it.
 */
function tokenRequestProof(
  ctx: AppContext,
  request: FastifyRequest,
  client: Client,
): Promise<DpopProof> | undefined {
  const header = request.headers.dpop;
  if (client.dpopBoundAccessTokens && (header === undefined || !ctx.config.dpop)) {
    throw new InvalidRequest(
      ctx.config.dpop
        ? 'this client must send a DPoP proof with every token request (dpop_bound_access_tokens)'
        : 'this client must use DPoP (dpop_bound_access_tokens), which is turned off on this server',
    );
  }
  if (header === undefined || !ctx.config.dpop) return undefined;
  return checkDpopProof(ctx, header, {
    method: 'POST',
    url: `${ctx.config.issuer}/token`,
    site: 'token',
  });
}

/** RFC 9449 §8: with nonces required, every answer to a DPoP request carries the current one. */
function sendNonce(ctx: AppContext, reply: FastifyReply): void {
  reply.header('dpop-nonce', currentDpopNonce(ctx, nowSeconds(ctx)));
}

/** The token endpoint (RFC 6749 §3.2): authenticate the client, then dispatch on grant_type. */
export function registerTokenEndpoint(app: FastifyInstance, ctx: AppContext): void {
  app.post('/token', async (request, reply) => {
    reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
    const params = bodyParams(request.body);
    const grantType = requireParam(params, 'grant_type');
    const grant = offeredGrant(ctx.config, grantType);
    // A grant that proves its own client (JWT bearer) may come without client credentials.
    const client =
      grant?.authenticate && !presentsClientCredentials(request, params)
        ? await grant.authenticate(ctx, request, params)
        : (await authenticateClient(ctx, request, params)).client;
    if (!grant) throw new UnsupportedGrantType(`grant_type "${grantType}" is not supported`);
    if (!client.grantTypes.includes(grantType)) {
      throw new UnauthorizedClient(`this client is not allowed the ${grantType} grant`);
    }
    const checking = tokenRequestProof(ctx, request, client);
    if (!checking) return grant.handle(ctx, client, params, request);
    const dpop = await checking;
    const response = await grant.handle(ctx, client, params, request, dpop);
    if (ctx.config.dpopNonce) sendNonce(ctx, reply);
    return response;
  });
}
