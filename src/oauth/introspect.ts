import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.js';
import { authenticateClient } from './client-auth.js';
import { bodyParams, param, requireParam } from './params.js';
import { type ActiveToken, findActiveAccessToken, findActiveRefreshToken } from './token-lookup.js';

const INACTIVE = { active: false } as const;

/**
 * RFC 7662. Any confidential client (a resource server) may introspect any
 * token, as in Keycloak; a public client only its own. Expired, revoked and
 * unknown tokens all answer `{"active": false}` and nothing else.
 */
export function registerIntrospectionEndpoint(app: FastifyInstance, ctx: AppContext): void {
  app.post('/introspect', async (request, reply) => {
    reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
    const params = bodyParams(request.body);
    const { client } = await authenticateClient(ctx, request, params);
    const token = requireParam(params, 'token');
    const hint = param(params, 'token_type_hint');
    // An unknown hint is no reason to fail: RFC 7662 §2.1 has the server search further anyway.
    const lookups =
      hint === 'refresh_token'
        ? [findActiveRefreshToken, findActiveAccessToken]
        : [findActiveAccessToken, findActiveRefreshToken];
    let active: ActiveToken | undefined;
    for (const lookup of lookups) {
      active = await lookup(ctx, token);
      if (active) break;
    }
    if (!active) return INACTIVE;
    if (client.type === 'public' && active.clientId !== client.id) return INACTIVE;

    const user = active.user;
    if (active.userId && !user) return INACTIVE;
    return {
      active: true,
      scope: active.scopes.join(' '),
      client_id: active.clientId,
      ...(user ? { username: user.username } : {}),
      sub: active.sub,
      ...(active.audience ? { aud: active.audience } : {}),
      iss: ctx.config.issuer,
      exp: active.expiresAt,
      iat: active.issuedAt,
      token_type: active.kind === 'access' ? 'Bearer' : 'refresh_token',
      ...(active.kind === 'access' && active.format === 'jwt' ? { jti: active.id } : {}),
      ...(active.sessionId ? { sid: active.sessionId } : {}),
    };
  });
}
