import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.js';
import { registerAuthorizationEndpoint } from './authorize/endpoint.js';
import type { BrowserSession } from './browser.js';
import { registerDeviceAuthorizationEndpoint } from './device/authorization.js';
import { registerDeviceVerification } from './device/verification.js';
import { discoveryPaths, registerJwks } from './discovery.js';
import { registerIntrospectionEndpoint } from './introspect.js';
import { registerLogoutEndpoint } from './logout.js';
import { registerPushedAuthorizationEndpoint } from './par.js';
import { registerRegistrationEndpoint } from './register.js';
import { registerRevocationEndpoint } from './revoke.js';
import { registerTokenEndpoint } from './token.js';
import { registerUserinfoEndpoint } from './userinfo.js';
import type { ProtocolViews } from './views.js';

/** The endpoints a browser app calls directly (token, userinfo, revocation, JWKS), under the issuer's path. */
const BROWSER_ENDPOINTS: readonly string[] = ['/token', '/par', '/userinfo', '/revoke', '/jwks'];

/**
 * The paths, from the host's root, that a browser app calls directly: the endpoints above and
 * every form of the metadata. The HTTP layer answers cross-origin requests to these, and to no other.
 */
export function corsPaths(issuerPath: string, options: { registration: boolean }): string[] {
  // A browser app (an MCP client in a page) may register itself when registration is on.
  const endpoints = options.registration ? [...BROWSER_ENDPOINTS, '/register'] : BROWSER_ENDPOINTS;
  return [...endpoints.map((path) => `${issuerPath}${path}`), ...discoveryPaths(issuerPath)];
}

/**
 * The protocol endpoints: /authorize, /par, /token, /userinfo, /revoke, /introspect, /jwks,
 * /logout, dynamic client registration (/register, RFC 7591 and 7592, when on), and the device
 * flow's /device_authorization and /device pages (RFC 8628), registered
 * under the issuer's path (app.ts); discovery is registered from the host's root
 * (`registerDiscovery`). The pages they show (`views`) and the browser's session (`browser`)
 * come from ui/ and http/, passed in by app.ts.
 */
export async function registerOAuthRoutes(
  app: FastifyInstance,
  ctx: AppContext,
  views: ProtocolViews,
  browser: BrowserSession,
): Promise<void> {
  registerJwks(app, ctx);
  registerAuthorizationEndpoint(app, ctx, views, browser);
  registerTokenEndpoint(app, ctx);
  registerPushedAuthorizationEndpoint(app, ctx);
  registerUserinfoEndpoint(app, ctx);
  registerRevocationEndpoint(app, ctx);
  registerIntrospectionEndpoint(app, ctx);
  registerLogoutEndpoint(app, ctx, views, browser);
  // Off: the endpoint and the pages do not exist (404), and the grant is unsupported.
  if (ctx.config.deviceFlow) {
    registerDeviceAuthorizationEndpoint(app, ctx);
    registerDeviceVerification(app, ctx, views, browser);
  }
  // Off (the default): /register does not exist (404), and discovery does not advertise it.
  if (ctx.config.registration !== 'off') registerRegistrationEndpoint(app, ctx);
}
