import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.js';
import { apiOfIntrospector } from '../domain/apis.js';
import type { Client } from '../store/types.js';
import { authenticateClient } from './client-auth.js';
import { InvalidClient } from './errors.js';
import { accessTokenAudience } from './issue.js';
import { bodyParams, param, requireParam } from './params.js';
import { type ActiveToken, findActiveAccessToken, findActiveRefreshToken } from './token-lookup.js';

const INACTIVE = { active: false } as const;

/**
 * Whether `caller` may learn about `token` (RFC 7662 §2.1, §4; RFC 6749 §10.4): the client it
 * was issued to may; a resource server may introspect access tokens meant for it (the default
 * audience, the issuer, or its own client_id: a token exchanged for it); a refresh token only by
 * its own client. A registered API's client sees only access tokens whose `aud` is the API's
 * identifier. Everyone else learns nothing: the token is reported inactive, as if it did not
 * exist.
 */
async function mayIntrospect(
  ctx: AppContext,
  caller: Client,
  token: ActiveToken,
): Promise<boolean> {
  // A registered API (RFC 8707) sees only the access tokens meant for it: aud = its identifier.
  const api = caller.resourceServer ? await apiOfIntrospector(ctx, caller.id) : undefined;
  if (api) return token.kind === 'access' && token.audience === api.identifier;
  if (token.clientId === caller.id) return true;
  if (token.kind !== 'access' || !caller.resourceServer) return false;
  // A token exchanged for an audience that names the resource server's client_id is for it too.
  return token.audience === accessTokenAudience(ctx) || token.audience === caller.id;
}

/**
 * The `aud` member: an access token's audience; a refresh token's, the resources (RFC 8707) it
 * may be exchanged for, as a list (they are kept space-separated).
 */
function audienceOf(token: ActiveToken): { aud: string | string[] } | undefined {
  if (!token.audience) return undefined;
  return { aud: token.kind === 'refresh' ? token.audience.split(' ') : token.audience };
}

/**
 * RFC 7662. The caller authenticates as a confidential client (a public client
 * has nothing to prove who it is with, so it cannot introspect); it learns only
 * about tokens it may see. Expired, revoked, unknown and others' tokens all
 * answer `{"active": false}` and nothing else.
 */
export function registerIntrospectionEndpoint(app: FastifyInstance, ctx: AppContext): void {
  app.post('/introspect', async (request, reply) => {
    reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
    const params = bodyParams(request.body);
    const { client } = await authenticateClient(ctx, request, params);
    if (client.type === 'public') {
      throw new InvalidClient(
        'introspection needs client authentication: a public client cannot introspect tokens',
      );
    }
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
    if (!active || !(await mayIntrospect(ctx, client, active))) return INACTIVE;

    const user = active.user;
    if (active.userId && !user) return INACTIVE;
    return {
      active: true,
      scope: active.scopes.join(' '),
      client_id: active.clientId,
      ...(user ? { username: user.username } : {}),
      sub: active.sub,
      ...(audienceOf(active) ?? {}),
      iss: ctx.config.issuer,
      exp: active.expiresAt,
      iat: active.issuedAt,
      // RFC 9449 §6.2: a bound access token says so, and names its key.
      token_type: active.kind === 'access' ? (active.jkt ? 'DPoP' : 'Bearer') : 'refresh_token',
      ...(active.jkt ? { cnf: { jkt: active.jkt } } : {}),
      ...(active.kind === 'access' && active.format === 'jwt' ? { jti: active.id } : {}),
      ...(active.sessionId ? { sid: active.sessionId } : {}),
      // RFC 8693 §4.1: who acts for the subject, for a token issued by token exchange.
      ...(active.act ? { act: active.act } : {}),
    };
  });
}
