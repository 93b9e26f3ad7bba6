/**
 * The steps of the authorization endpoint that its three handlers share (endpoint.ts): the
 * request checked, the sign-in asked for, the pages shown, consent and the code.
 */

import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../../context.js';
import { scopesForClient } from '../../domain/apis.js';
import { selfDescribed } from '../../domain/metadata-document.js';
import type { Grant } from '../../store/types.js';
import type { SignedIn } from '../browser.js';
import { CLAIM_DESCRIPTIONS } from '../claims.js';
import {
  ConsentRequired,
  InteractionRequired,
  InvalidRequest,
  LoginRequired,
  OAuthError,
} from '../errors.js';
import { param, type RawParams } from '../params.js';
import { authorizedApis } from '../resource.js';
import { SCOPE_DESCRIPTIONS } from '../scopes.js';
import type { ProtocolViews } from '../views.js';
import { completeAuthorization, recordConsent } from './complete.js';
import { claimsBeyondScopes, planConsent } from './incremental.js';
import {
  consentNeeded,
  type LoginDecision,
  loginRedirect,
  sealInteraction,
} from './interaction.js';
import { pushRequired, readPushed } from './pushed.js';
import {
  type AuthorizationRequest,
  checkParameters,
  checkRedirectUri,
  checkResponseType,
  errorResponseMode,
  loadClient,
  type ResponseTarget,
  rawParams,
} from './request.js';
import { sendAuthorizationResponse } from './respond.js';

/**
 * How a request reaches validate(): `start` at /authorize; `resume` from a page's answer (consent,
 * account choice), which continues a request already started; `push` at /par, which checks what
 * /authorize would before it stores the request (RFC 9126 §2.1).
 */
export type Arrival = 'start' | 'resume' | 'push';

/**
 * Validates the request step by step; errors after the redirect URI is known carry their target.
 * A pushed request's parameters are read from the store instead of `params` (pushed.ts).
 */
export async function validate(
  ctx: AppContext,
  query: RawParams,
  arrival: Arrival = 'start',
): Promise<{ target?: ResponseTarget; request?: AuthorizationRequest; error?: OAuthError }> {
  const client = await loadClient(ctx, query);
  const pushed = arrival === 'push' ? undefined : await readPushed(ctx, client, query, arrival);
  // RFC 9126 §4: a pushed request's parameters, and nothing the query adds or overrides.
  const params = pushed?.parameters ?? query;
  const { redirectUri, asSent } = checkRedirectUri(client, params);
  let target: ResponseTarget = {
    redirectUri,
    responseMode: errorResponseMode(params),
    state: undefined,
  };
  try {
    // Read as every other parameter (once, bounded); an unusable state is not echoed back.
    target = { ...target, state: param(params, 'state') };
    if (!pushed && arrival !== 'push' && pushRequired(ctx, client)) {
      throw new InvalidRequest(
        ctx.config.requirePar
          ? 'pushed authorization requests are required: push the request to /par first (RFC 9126) and send only client_id and request_uri here'
          : 'this client must push its authorization requests to /par first (RFC 9126) and send only client_id and request_uri here',
      );
    }
    const { responseType, responseMode } = checkResponseType(client, params);
    target = { ...target, responseMode };
    // RFC 8707: each resource a registered API this client may use, or invalid_target. First: an
    // API just made elsewhere is looked for in a fresh list, which the scopes below then use.
    const apis = await authorizedApis(ctx, client, params);
    const allowedScopes = await scopesForClient(ctx, client, 'person');
    const rest = checkParameters(ctx, client, params, responseType, allowedScopes);
    const request: AuthorizationRequest = {
      ...target,
      ...rest,
      apis,
      allowedScopes,
      client,
      redirectUriAsSent: asSent,
      responseType,
      raw: pushed?.raw ?? rawParams(params),
      pushed: pushed?.id,
    };
    return { target, request };
  } catch (error) {
    if (error instanceof OAuthError && error.redirectable) return { target, error };
    throw error;
  }
}

/**
 * The consent page: what is asked now, and, for a client the person allowed something before,
 * what it has already (listed, not asked again). What it lists as allowed before is sealed into
 * the form, so that Allow cannot stand for it once the grant no longer has it.
 */
export function showConsent(
  ctx: AppContext,
  httpRequest: FastifyRequest,
  reply: FastifyReply,
  views: ProtocolViews,
  request: AuthorizationRequest,
  signedIn: SignedIn,
  grant: Grant | undefined,
  fresh: boolean,
): FastifyReply {
  const plan = planConsent(request, grant);
  const scope = (name: string) => ({ name, description: SCOPE_DESCRIPTIONS[name] ?? name });
  const claim = (name: string) => ({ name, description: CLAIM_DESCRIPTIONS[name] ?? name });
  const shown = {
    scopes: plan.grantedScopes,
    claims: plan.grantedClaims,
    resources: plan.grantedResources,
  };
  return views.consent(httpRequest, reply, {
    clientName: request.client.name,
    selfDescribed: selfDescribed(request.client, request.redirectUri),
    scopes: request.scopes.map(scope),
    claims: claimsBeyondScopes(request).map(claim),
    alreadyGranted: [...plan.grantedScopes, ...plan.grantedClaims],
    carried: plan.grantedScopes.filter((name) => !request.scopes.includes(name)).map(scope),
    apis: request.apis.map((api) => ({
      name: api.name,
      identifier: api.identifier,
      granted: plan.grantedResources.includes(api.identifier),
    })),
    username: signedIn.user.username,
    interaction: sealInteraction(
      ctx,
      'consent',
      request,
      signedIn.user,
      signedIn.session,
      fresh,
      shown,
    ),
    action: `${ctx.config.issuerPath}/consent`,
  });
}

export function showAccountChooser(
  ctx: AppContext,
  httpRequest: FastifyRequest,
  reply: FastifyReply,
  views: ProtocolViews,
  request: AuthorizationRequest,
  signedIn: SignedIn,
): FastifyReply {
  return views.selectAccount(httpRequest, reply, {
    clientName: request.client.name,
    username: signedIn.user.username,
    email: signedIn.user.email,
    // Shown only to a sign-in not made for this request: one that was is the choice already.
    interaction: sealInteraction(
      ctx,
      'select-account',
      request,
      signedIn.user,
      signedIn.session,
      false,
    ),
    action: `${ctx.config.issuerPath}/select-account`,
  });
}

/** Why prompt=none cannot go on without a sign-in (OpenID Connect Core §3.1.2.6). */
function silentFailure(kind: Exclude<LoginDecision['kind'], 'ok'>): OAuthError {
  switch (kind) {
    case 'sign-in':
      return new LoginRequired('the end-user is not signed in');
    case 'fresh-sign-in':
      return new LoginRequired('the end-user must sign in again');
    case 'stronger-sign-in':
      return new InteractionRequired(
        'the end-user must sign in again to reach the authentication context class asked for (acr_values)',
      );
  }
}

/** Sends the person to sign in (again) before the request goes on, or, with prompt=none, says why not. */
export function signInFirst(
  ctx: AppContext,
  reply: FastifyReply,
  request: AuthorizationRequest,
  kind: Exclude<LoginDecision['kind'], 'ok'>,
): FastifyReply {
  if (request.prompt.has('none')) throw silentFailure(kind);
  return reply.redirect(loginRedirect(ctx, request, { forced: kind !== 'sign-in' }), 303);
}

/**
 * The steps after sign-in and the account choice: consent when needed, then the code. `fresh`
 * when the person signed in for this very request.
 */
export async function consentAndComplete(
  ctx: AppContext,
  httpRequest: FastifyRequest,
  reply: FastifyReply,
  views: ProtocolViews,
  request: AuthorizationRequest,
  signedIn: SignedIn,
  fresh: boolean,
): Promise<FastifyReply> {
  const { user, session } = signedIn;
  const seen = await ctx.store.grants.find(user.id, request.client.id);
  if (consentNeeded(request, seen)) {
    if (request.prompt.has('none')) throw new ConsentRequired();
    return showConsent(ctx, httpRequest, reply, views, request, signedIn, seen, fresh);
  }
  const recorded = await recordConsent(ctx, request, user, seen);
  // Only when a revocation deleted the grant in the middle of this write: ask again.
  if (!('grant' in recorded)) {
    if (request.prompt.has('none')) throw new ConsentRequired();
    return showConsent(ctx, httpRequest, reply, views, request, signedIn, recorded.changed, fresh);
  }
  const values = await completeAuthorization(ctx, request, user, session, recorded.grant);
  return sendAuthorizationResponse(httpRequest, reply, views, ctx.config.issuer, request, values);
}
