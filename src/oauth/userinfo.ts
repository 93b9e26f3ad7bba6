import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type AppContext, nowSeconds } from '../context.js';
import { isJwsAlg, signJws } from '../lib/jws.js';
import { type PresentedToken, presentedToken } from './bearer.js';
import { pickClaims } from './claims.js';
import { checkDpopProof } from './dpop.js';
import { currentDpopNonce } from './dpop-nonce.js';
import { InsufficientScope, InvalidDpopToken, InvalidToken } from './errors.js';
import { accessTokenAudience, claimNamesFor } from './issue.js';
import { type ActiveToken, findActiveAccessToken } from './token-lookup.js';

/**
 * RFC 9449 §7: a DPoP-bound token goes only with the DPoP scheme and a proof, for this request and
 * this token (`ath`), made with the key it is bound to; a Bearer token only as a Bearer token.
 */
async function checkSenderBinding(
  ctx: AppContext,
  request: FastifyRequest,
  reply: FastifyReply,
  presented: PresentedToken,
  token: ActiveToken,
): Promise<void> {
  if (presented.scheme === 'Bearer') {
    if (token.jkt) {
      throw new InvalidDpopToken(
        'the access token is DPoP-bound: send it as "Authorization: DPoP <token>" with a DPoP proof',
      );
    }
    return;
  }
  if (!token.jkt)
    throw new InvalidDpopToken('the access token is not DPoP-bound: send it as a Bearer token');
  const proof = await checkDpopProof(ctx, request.headers.dpop, {
    method: request.method,
    url: `${ctx.config.issuer}/userinfo`,
    accessToken: presented.token,
    site: 'resource',
  });
  if (proof.jkt !== token.jkt) {
    throw new InvalidDpopToken(
      'the DPoP proof is made with another key than the one the access token is bound to',
    );
  }
  if (ctx.config.dpopNonce) reply.header('dpop-nonce', currentDpopNonce(ctx, nowSeconds(ctx)));
}

/**
 * OpenID Connect Core §5.3: the claims the token's scopes (and `claims`
 * request) release, as JSON, or as a signed JWT when the client registered
 * `userinfo_signed_response_alg`.
 */
async function userinfo(ctx: AppContext, request: FastifyRequest, reply: FastifyReply) {
  reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
  const presented = presentedToken(request, ctx.config.dpop);
  const token = await findActiveAccessToken(ctx, presented.token);
  if (!token) {
    const description = 'the access token is invalid, expired or revoked';
    throw presented.scheme === 'DPoP'
      ? new InvalidDpopToken(description)
      : new InvalidToken(description);
  }
  await checkSenderBinding(ctx, request, reply, presented, token);
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
