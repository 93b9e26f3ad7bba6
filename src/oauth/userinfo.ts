import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type AppContext, nowSeconds } from '../context.js';
import { isJwsAlg, signJws } from '../lib/jws.js';
import { bearerToken } from './bearer.js';
import { pickClaims } from './claims.js';
import { InsufficientScope, InvalidToken } from './errors.js';
import { accessTokenAudience, claimNamesFor } from './issue.js';
import { findActiveAccessToken } from './token-lookup.js';

/**
 * OpenID Connect Core §5.3: the claims the token's scopes (and `claims`
 * request) release, as JSON, or as a signed JWT when the client registered
 * `userinfo_signed_response_alg`.
 */
async function userinfo(ctx: AppContext, request: FastifyRequest, reply: FastifyReply) {
  reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
  const token = await findActiveAccessToken(ctx, bearerToken(request));
  if (!token) throw new InvalidToken('the access token is invalid, expired or revoked');
  if (!token.userId)
    throw new InvalidToken('the access token was issued to a client, not for a person');
  // A token exchanged for another API's audience is for that API, not for this server's userinfo.
  if (token.audience !== undefined && token.audience !== accessTokenAudience(ctx))
    throw new InvalidToken('the access token is meant for another audience, not for userinfo');
  if (!token.scopes.includes('openid')) {
    throw new InsufficientScope(
      'the access token lacks the openid scope that userinfo requires',
      'openid',
    );
  }
  const user = token.user;
  if (!user) throw new InvalidToken('the person this token was issued for no longer exists');
  const client = await ctx.clients.get(token.clientId);
  if (!client) throw new InvalidToken('the client this token was issued to no longer exists');
  const claims = pickClaims(
    user,
    ctx.config.issuer,
    claimNamesFor(client, token.scopes, token.claims, 'userinfo'),
  );

  const alg = client.userinfoSignedResponseAlg;
  if (isJwsAlg(alg)) {
    const key = ctx.keys.signingKey(alg);
    const now = nowSeconds(ctx);
    const jwt = signJws(
      { alg, kid: key.kid, typ: 'JWT' },
      { ...claims, iss: ctx.config.issuer, aud: client.id, iat: now, exp: now + 300 },
      key.privateKey,
    );
    return reply.type('application/jwt').send(jwt);
  }
  return claims;
}

export function registerUserinfoEndpoint(app: FastifyInstance, ctx: AppContext): void {
  app.get('/userinfo', (request, reply) => userinfo(ctx, request, reply));
  app.post('/userinfo', (request, reply) => userinfo(ctx, request, reply));
}
