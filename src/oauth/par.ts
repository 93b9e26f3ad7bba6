import type { FastifyInstance, FastifyRequest } from 'fastify';
import { type AppContext, nowSeconds } from '../context.js';
import { randomToken } from '../lib/random.js';
import { PUSHED_REQUEST_TTL, pushedRequestId, REQUEST_URI_PREFIX } from './authorize/pushed.js';
import { validate } from './authorize/steps.js';
import { authenticateClient } from './client-auth.js';
import { checkDpopProof } from './dpop.js';
import { currentDpopNonce } from './dpop-nonce.js';
import { InvalidRequest } from './errors.js';
import { bodyParams, param, type RawParams } from './params.js';

/**
 * RFC 9449 §10.1: a DPoP proof sent with the push binds the code to its key, as `dpop_jkt` does;
 * sent with both, they must name the same key. Returns the parameters to validate and store.
 */
async function bindDpopKey(
  ctx: AppContext,
  request: FastifyRequest,
  params: RawParams,
): Promise<RawParams> {
  const header = request.headers.dpop;
  if (header === undefined || !ctx.config.dpop) return params;
  const { jkt } = await checkDpopProof(ctx, header, {
    method: 'POST',
    url: `${ctx.config.issuer}/par`,
    site: 'token',
  });
  const named = param(params, 'dpop_jkt');
  if (named !== undefined && named !== jkt) {
    throw new InvalidRequest('dpop_jkt is not the thumbprint of the DPoP proof key sent with it');
  }
  return { ...params, dpop_jkt: jkt };
}

/**
 * The pushed authorization request endpoint (RFC 9126 §2): the client authenticates as at /token,
 * the request is checked as /authorize would check it (the same code, so nothing is accepted here
 * that /authorize refuses), and is stored under a request_uri that /authorize accepts once.
 */
export function registerPushedAuthorizationEndpoint(app: FastifyInstance, ctx: AppContext): void {
  app.post('/par', async (request, reply) => {
    reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
    const params = bodyParams(request.body);
    const { client } = await authenticateClient(ctx, request, params);
    // §2.1: the request_uri is what this endpoint hands out, never what it takes.
    if (param(params, 'request_uri') !== undefined) {
      throw new InvalidRequest('request_uri must not be pushed: push the authorization parameters');
    }
    const named = param(params, 'client_id');
    if (named !== undefined && named !== client.id) {
      throw new InvalidRequest('client_id does not match the authenticated client');
    }
    const pushedParams = await bindDpopKey(ctx, request, params);
    const { request: authorization, error } = await validate(ctx, pushedParams, 'push');
    if (error || !authorization) throw error;

    const random = randomToken(32);
    const now = nowSeconds(ctx);
    await ctx.store.pushedRequests.save({
      id: pushedRequestId(random),
      clientId: client.id,
      parameters: authorization.raw,
      createdAt: now,
      expiresAt: now + PUSHED_REQUEST_TTL,
      startedAt: null,
      finishedAt: null,
    });
    if (request.headers.dpop !== undefined && ctx.config.dpop && ctx.config.dpopNonce) {
      reply.header('dpop-nonce', currentDpopNonce(ctx, now));
    }
    return reply
      .code(201)
      .send({ request_uri: `${REQUEST_URI_PREFIX}${random}`, expires_in: PUSHED_REQUEST_TTL });
  });

  // §2.3: any other method is a 405.
  app.route({
    method: ['GET', 'PUT', 'PATCH', 'DELETE'],
    url: '/par',
    handler: async (_request, reply) => {
      reply.header('allow', 'POST');
      const error = new InvalidRequest('the pushed authorization request endpoint takes POST only');
      error.status = 405;
      throw error;
    },
  });
}
