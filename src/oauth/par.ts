import type { FastifyInstance, FastifyRequest } from 'fastify';
import { type AppContext, nowSeconds } from '../context.js';
import { randomToken } from '../lib/random.js';
import { PUSHED_REQUEST_TTL, pushedRequestId, REQUEST_URI_PREFIX } from './authorize/pushed.js';
import type { ResumeParams } from './authorize/request.js';
import { validate } from './authorize/steps.js';
import { authenticateClient } from './client-auth.js';
import { checkDpopProof } from './dpop.js';
import { InvalidDpopProof, InvalidRequest } from './errors.js';
import { bodyParams, param } from './params.js';

/**
 * RFC 9449 §10.1: a push that carries a DPoP proof binds the code to the proof's key, as
 * `dpop_jkt` would; when it sends `dpop_jkt` too, the two must name the same key.
 */
async function bindToProofKey(
  ctx: AppContext,
  request: FastifyRequest,
  raw: ResumeParams,
): Promise<ResumeParams> {
  const header = request.headers.dpop;
  if (header === undefined || !ctx.config.dpop) return raw;
  const proof = await checkDpopProof(ctx, header, {
    method: 'POST',
    url: `${ctx.config.issuer}/par`,
    site: 'token',
  });
  if (raw.dpop_jkt !== undefined && raw.dpop_jkt !== proof.jkt) {
    throw new InvalidDpopProof('the DPoP proof is made with another key than dpop_jkt names');
  }
  return { ...raw, dpop_jkt: proof.jkt };
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
    const { request: authorization, error } = await validate(ctx, params, 'push');
    if (error || !authorization) throw error;
    const parameters = await bindToProofKey(ctx, request, authorization.raw);

    const random = randomToken(32);
    const now = nowSeconds(ctx);
    await ctx.store.pushedRequests.save({
      id: pushedRequestId(random),
      clientId: client.id,
      parameters,
      createdAt: now,
      expiresAt: now + PUSHED_REQUEST_TTL,
      startedAt: null,
      finishedAt: null,
    });
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
