import type { FastifyInstance } from 'fastify';
import { type AppContext, nowSeconds } from '../context.js';
import { sha256 } from '../lib/hash.js';
import type { Client } from '../store/types.js';
import { authenticateClient } from './client-auth.js';
import { OAuthError } from './errors.js';
import { accessTokenAudience } from './issue.js';
import { bodyParams, param, requireParam } from './params.js';

class NotYourToken extends OAuthError {
  constructor() {
    super('unauthorized_client', 'the token was not issued to this client');
  }
}

/** Revokes a stored (opaque access or refresh) token; a refresh token takes its family with it. */
async function revokeStored(
  ctx: AppContext,
  client: Client,
  token: string,
  now: number,
): Promise<boolean> {
  if (token.length > 512) return false;
  const record = await ctx.store.tokens.find(sha256(token));
  if (!record) return false;
  if (record.clientId !== client.id) throw new NotYourToken();
  if (record.kind === 'refresh' && record.familyId) {
    // Seed 001 and RFC 7009 §2.1: the access tokens issued from the same grant go too.
    await ctx.store.tokens.revokeFamily(record.familyId, now);
  } else {
    await ctx.store.tokens.revoke(record.id, now);
  }
  return true;
}

/** Revokes a JWT access token we signed, stored or not (a client_credentials JWT is recorded now). */
async function revokeJwt(
  ctx: AppContext,
  client: Client,
  token: string,
  now: number,
): Promise<boolean> {
  const verified = await ctx.keys.verify(token);
  if (verified?.header.typ !== 'at+jwt') return false;
  const claims = verified.payload;
  if (claims.iss !== ctx.config.issuer || typeof claims.jti !== 'string') return false;
  if (claims.client_id !== client.id) throw new NotYourToken();
  const exp = typeof claims.exp === 'number' ? claims.exp : now;
  if (exp <= now) return true;
  const stored = await ctx.store.tokens.revoke(claims.jti, now);
  if (!stored) {
    await ctx.store.tokens.revokeUnstored(
      {
        id: claims.jti,
        kind: 'access',
        format: 'jwt',
        clientId: client.id,
        userId: null,
        grantId: null,
        familyId: null,
        jkt: null,
        sessionId: null,
        scope: typeof claims.scope === 'string' ? claims.scope : '',
        audience: accessTokenAudience(ctx),
        authTime: null,
        acr: null,
        amr: null,
        claims: null,
        act: null,
        createdAt: typeof claims.iat === 'number' ? claims.iat : now,
        expiresAt: exp,
        familyExpiresAt: null,
      },
      now,
    );
  }
  return true;
}

/**
 * RFC 7009. The answer is 200 whether or not the token existed, so that it
 * reveals nothing; a token of another client is left alone and refused.
 */
export function registerRevocationEndpoint(app: FastifyInstance, ctx: AppContext): void {
  app.post('/revoke', async (request, reply) => {
    reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
    const params = bodyParams(request.body);
    const { client } = await authenticateClient(ctx, request, params);
    const token = requireParam(params, 'token');
    // RFC 7009 §2.1: "An invalid token type hint value is ignored"; read it only so that a
    // repeated one is refused like any repeated parameter.
    param(params, 'token_type_hint');
    const now = nowSeconds(ctx);
    const isJwt = token.split('.').length === 3;
    // The shape of the token says where it is kept, so no hint is needed to find it.
    if (isJwt) await revokeJwt(ctx, client, token, now);
    else await revokeStored(ctx, client, token, now);
    return reply.code(200).send();
  });
}
