import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../context.js';
import type { Client } from '../store/types.js';
import type { BrowserSession } from './browser.js';
import { UnsafeRedirect } from './errors.js';
import { readIdTokenHint } from './id-token-hint.js';
import { bodyParams, param, type RawParams } from './params.js';
import type { ProtocolViews } from './views.js';

/** The fields of a logout request that travel through the confirmation page. */
const PASSED_ON = [
  'id_token_hint',
  'client_id',
  'post_logout_redirect_uri',
  'state',
  'ui_locales',
  'logout_hint',
];

interface LogoutRequest {
  client: Client | undefined;
  hint: { sub: string; sid: string | undefined } | undefined;
  redirectUri: string | undefined;
  state: string | undefined;
  fields: Record<string, string>;
}

const fail = (description: string) => new UnsafeRedirect('invalid_request', description);

/** OpenID Connect RP-Initiated Logout 1.0 §2: who asks, and where to go afterwards. */
async function readLogoutRequest(ctx: AppContext, params: RawParams): Promise<LogoutRequest> {
  const hintText = param(params, 'id_token_hint');
  const clientId = param(params, 'client_id');
  const redirectUri = param(params, 'post_logout_redirect_uri');

  let hint: LogoutRequest['hint'];
  let audience: string | undefined;
  if (hintText !== undefined) {
    const claims = await readIdTokenHint(ctx, hintText);
    if (!claims) throw fail('id_token_hint is not an ID token issued by this server');
    audience = Array.isArray(claims.aud) ? String(claims.aud[0]) : String(claims.aud);
    hint = {
      sub: String(claims.sub),
      sid: typeof claims.sid === 'string' ? claims.sid : undefined,
    };
  }
  if (clientId !== undefined && audience !== undefined && clientId !== audience) {
    throw fail('client_id does not match the audience of id_token_hint');
  }
  const id = clientId ?? audience;
  const client = id ? await ctx.clients.get(id) : undefined;
  if (id && !client) throw fail('unknown client_id');
  if (redirectUri !== undefined) {
    if (!client)
      throw fail('post_logout_redirect_uri needs client_id or id_token_hint to say whose it is');
    if (!client.postLogoutRedirectUris.includes(redirectUri)) {
      throw fail('post_logout_redirect_uri is not registered for this client');
    }
  }
  const fields: Record<string, string> = {};
  for (const name of PASSED_ON) {
    const value = param(params, name);
    if (value !== undefined) fields[name] = value;
  }
  return { client, hint, redirectUri, state: param(params, 'state'), fields };
}

function finish(
  request: FastifyRequest,
  reply: FastifyReply,
  views: ProtocolViews,
  logout: LogoutRequest,
): FastifyReply {
  if (!logout.redirectUri) return views.signedOut(request, reply);
  const url = new URL(logout.redirectUri);
  if (logout.state !== undefined) url.searchParams.set('state', logout.state);
  return reply.redirect(url.toString(), 303);
}

/**
 * The end_session_endpoint. A request carrying an ID token of the signed-in
 * person's current session is trusted and signs out at once; any other asks
 * first, on a page whose form comes back here with a CSRF token.
 */
async function logout(
  ctx: AppContext,
  request: FastifyRequest,
  reply: FastifyReply,
  views: ProtocolViews,
  browser: BrowserSession,
  params: RawParams,
): Promise<FastifyReply> {
  const confirming = request.method === 'POST' && params._csrf !== undefined;
  if (confirming) browser.checkForm(request);
  const req = await readLogoutRequest(ctx, params);
  const signedIn = await browser.signedIn(request);
  if (!signedIn) return finish(request, reply, views, req);

  if (confirming) {
    if (params.logout === 'no') return reply.redirect(`${ctx.config.issuerPath}/account`, 303);
    await browser.signOut(request, reply);
    // The header's "Sign out" button of our own pages names no client: back to the sign-in page.
    if (params.logout === undefined && !req.client)
      return reply.redirect(`${ctx.config.issuerPath}/login`, 303);
    return finish(request, reply, views, req);
  }
  const trusted =
    req.hint !== undefined &&
    req.hint.sub === signedIn.user.id &&
    (req.hint.sid === undefined || req.hint.sid === signedIn.session.id);
  if (trusted) {
    await browser.signOut(request, reply);
    return finish(request, reply, views, req);
  }
  return views.logoutConfirm(request, reply, {
    clientName: req.client?.name,
    username: signedIn.user.username,
    fields: req.fields,
    action: `${ctx.config.issuerPath}/logout`,
  });
}

export function registerLogoutEndpoint(
  app: FastifyInstance,
  ctx: AppContext,
  views: ProtocolViews,
  browser: BrowserSession,
): void {
  const page = { config: { page: true } };
  app.get('/logout', page, (request, reply) =>
    logout(ctx, request, reply, views, browser, request.query as RawParams),
  );
  app.post('/logout', page, (request, reply) =>
    logout(ctx, request, reply, views, browser, bodyParams(request.body)),
  );
}
