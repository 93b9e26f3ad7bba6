import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.js';
import { registerCors } from '../http/cors.js';
import { registerAuthorizationEndpoint } from './authorize/endpoint.js';
import { registerDiscovery, registerJwks } from './discovery.js';
import { registerIntrospectionEndpoint } from './introspect.js';
import { registerLogoutEndpoint } from './logout.js';
import { registerRevocationEndpoint } from './revoke.js';
import { registerTokenEndpoint } from './token.js';
import { registerUserinfoEndpoint } from './userinfo.js';
import type { ProtocolViews } from './views.js';

/** The protocol endpoints: /authorize, /token, /userinfo, /revoke, /introspect, /jwks, discovery. */
export async function registerOAuthRoutes(
  app: FastifyInstance,
  ctx: AppContext,
  views: ProtocolViews,
): Promise<void> {
  registerCors(app, [
    '/token',
    '/userinfo',
    '/revoke',
    '/jwks',
    '/.well-known/openid-configuration',
    '/.well-known/oauth-authorization-server',
  ]);
  registerDiscovery(app, ctx);
  registerJwks(app, ctx);
  registerAuthorizationEndpoint(app, ctx, views);
  registerTokenEndpoint(app, ctx);
  registerUserinfoEndpoint(app, ctx);
  registerRevocationEndpoint(app, ctx);
  registerIntrospectionEndpoint(app, ctx);
  registerLogoutEndpoint(app, ctx, views);
}
