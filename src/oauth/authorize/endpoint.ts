import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../../context.js';
import type { BrowserSession, SignedIn } from '../browser.js';
import { CLAIM_DESCRIPTIONS } from '../claims.js';
import {
  AccessDenied,
  ConsentRequired,
  InteractionRequired,
  InvalidRequest,
  LoginRequired,
  OAuthError,
} from '../errors.js';
import { bodyParams, param, type RawParams } from '../params.js';
import { SCOPE_DESCRIPTIONS } from '../scopes.js';
import type { ProtocolViews } from '../views.js';
import { completeAuthorization } from './complete.js';
import {
  claimsBeyondScopes,
  consentNeeded,
  LOGIN_MARKER,
  type LoginDecision,
  loginDecision,
  loginRedirect,
  openInteraction,
  sealInteraction,
} from './interaction.js';
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
import { sendAuthorizationError, sendAuthorizationResponse } from './respond.js';

/** Validates the request step by step; errors after the redirect URI is known carry their target. */
async function validate(
  ctx: AppContext,
  params: RawParams,
): Promise<{ target?: ResponseTarget; request?: AuthorizationRequest; error?: OAuthError }> {
  const client = await loadClient(ctx, params);
  const { redirectUri, asSent } = checkRedirectUri(client, params);
  let target: ResponseTarget = {
    redirectUri,
    responseMode: errorResponseMode(params),
    state: undefined,
  };
  try {
    // Read as every other parameter (once, bounded); an unusable state is not echoed back.
    target = { ...target, state: param(params, 'state') };
    const { responseType, responseMode } = checkResponseType(client, params);
    target = { ...target, responseMode };
    const rest = checkParameters(ctx, client, params, responseType);
    const request: AuthorizationRequest = {
      ...target,
      ...rest,
      client,
      redirectUriAsSent: asSent,
      responseType,
      raw: rawParams(params),
    };
    return { target, request };
  } catch (error) {
    if (error instanceof OAuthError && error.redirectable) return { target, error };
    throw error;
  }
}

function showConsent(
  ctx: AppContext,
  httpRequest: FastifyRequest,
  reply: FastifyReply,
  views: ProtocolViews,
  request: AuthorizationRequest,
  signedIn: SignedIn,
  granted: string[],
): FastifyReply {
  return views.consent(httpRequest, reply, {
    clientName: request.client.name,
    scopes: request.scopes.map((name) => ({ name, description: SCOPE_DESCRIPTIONS[name] ?? name })),
    claims: claimsBeyondScopes(request).map((name) => ({
      name,
      description: CLAIM_DESCRIPTIONS[name] ?? name,
    })),
    alreadyGranted: request.scopes.filter((s) => granted.includes(s)),
    username: signedIn.user.username,
    interaction: sealInteraction(ctx, 'consent', request, signedIn.user, signedIn.session),
    action: '/consent',
  });
}

function showAccountChooser(
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
    interaction: sealInteraction(ctx, 'select-account', request, signedIn.user, signedIn.session),
    action: '/select-account',
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

/** The steps after sign-in and the account choice: consent when needed, then the code. */
async function consentAndComplete(
  ctx: AppContext,
  httpRequest: FastifyRequest,
  reply: FastifyReply,
  views: ProtocolViews,
  request: AuthorizationRequest,
  signedIn: SignedIn,
): Promise<FastifyReply> {
  const { user, session } = signedIn;
  const grant = await ctx.store.grants.find(user.id, request.client.id);
  if (consentNeeded(request, grant)) {
    if (request.prompt.has('none')) throw new ConsentRequired();
    return showConsent(ctx, httpRequest, reply, views, request, signedIn, grant?.scopes ?? []);
  }
  const values = await completeAuthorization(ctx, request, user, session, grant);
  return sendAuthorizationResponse(httpRequest, reply, views, ctx.config.issuer, request, values);
}

/**
 * The authorization endpoint (RFC 6749 §3.1, OpenID Connect Core §3.1.2), as a
 * pipeline: client → redirect URI → response type → parameters → sign-in →
 * account choice → consent → code.
 */
async function authorize(
  ctx: AppContext,
  httpRequest: FastifyRequest,
  reply: FastifyReply,
  views: ProtocolViews,
  browser: BrowserSession,
  params: RawParams,
): Promise<FastifyReply> {
  const { target, request, error } = await validate(ctx, params);
  const send = (e: OAuthError) =>
    sendAuthorizationError(httpRequest, reply, views, ctx.config.issuer, target!, e);
  if (error || !request) return send(error!);
  try {
    const signedIn = await browser.signedIn(httpRequest);
    const decision = await loginDecision(ctx, request, signedIn?.session, params[LOGIN_MARKER]);
    if (decision.kind !== 'ok') {
      if (request.prompt.has('none')) throw silentFailure(decision.kind);
      return reply.redirect(loginRedirect(ctx, request, decision.kind !== 'sign-in'), 303);
    }
    // select_account asks the person which account to use (OpenID Connect Core §3.1.2.1); one
    // who has just signed in for this very request has chosen already.
    if (request.prompt.has('select_account') && !decision.fresh) {
      return showAccountChooser(ctx, httpRequest, reply, views, request, signedIn!);
    }
    return await consentAndComplete(ctx, httpRequest, reply, views, request, signedIn!);
  } catch (e) {
    if (e instanceof OAuthError && e.redirectable) return send(e);
    throw e;
  }
}

/** The consent form's answer: Allow issues the code, Deny sends access_denied. */
async function decide(
  ctx: AppContext,
  httpRequest: FastifyRequest,
  reply: FastifyReply,
  views: ProtocolViews,
  browser: BrowserSession,
): Promise<FastifyReply> {
  browser.checkForm(httpRequest);
  const form = bodyParams(httpRequest.body);
  const signedIn = await browser.signedIn(httpRequest);
  const params =
    signedIn && (await openInteraction(ctx, 'consent', form.interaction, signedIn.session));
  if (!signedIn || !params) {
    throw new InvalidRequest(
      'this consent form has expired or belongs to another sign-in: start again from the app',
    );
  }
  const { target, request, error } = await validate(ctx, params);
  const send = (e: OAuthError) =>
    sendAuthorizationError(httpRequest, reply, views, ctx.config.issuer, target!, e);
  if (error || !request) return send(error!);
  if (form.decision !== 'allow') return send(new AccessDenied('the end-user denied the request'));
  const grant = await ctx.store.grants.find(signedIn.user.id, request.client.id);
  const values = await completeAuthorization(ctx, request, signedIn.user, signedIn.session, grant);
  return sendAuthorizationResponse(httpRequest, reply, views, ctx.config.issuer, request, values);
}

/**
 * The account chooser's answer: "Continue" goes on as the signed-in person (to consent, or the
 * code); "Use another account" goes to the sign-in page, which comes back to this request.
 */
async function chooseAccount(
  ctx: AppContext,
  httpRequest: FastifyRequest,
  reply: FastifyReply,
  views: ProtocolViews,
  browser: BrowserSession,
): Promise<FastifyReply> {
  browser.checkForm(httpRequest);
  const form = bodyParams(httpRequest.body);
  const signedIn = await browser.signedIn(httpRequest);
  const params =
    signedIn && (await openInteraction(ctx, 'select-account', form.interaction, signedIn.session));
  if (!signedIn || !params) {
    throw new InvalidRequest(
      'this account choice has expired or belongs to another sign-in: start again from the app',
    );
  }
  const { target, request, error } = await validate(ctx, params);
  const send = (e: OAuthError) =>
    sendAuthorizationError(httpRequest, reply, views, ctx.config.issuer, target!, e);
  if (error || !request) return send(error!);
  // The session stays until someone else signs in, which ends it as any sign-in in this browser does.
  if (form.choice === 'other') return reply.redirect(loginRedirect(ctx, request, false), 303);
  try {
    return await consentAndComplete(ctx, httpRequest, reply, views, request, signedIn);
  } catch (e) {
    if (e instanceof OAuthError && e.redirectable) return send(e);
    throw e;
  }
}

export function registerAuthorizationEndpoint(
  app: FastifyInstance,
  ctx: AppContext,
  views: ProtocolViews,
  browser: BrowserSession,
): void {
  const page = { config: { page: true } };
  app.get('/authorize', page, (request, reply) =>
    authorize(ctx, request, reply, views, browser, request.query as RawParams),
  );
  app.post('/authorize', page, (request, reply) =>
    authorize(ctx, request, reply, views, browser, bodyParams(request.body)),
  );
  app.post('/consent', page, (request, reply) => decide(ctx, request, reply, views, browser));
  app.post('/select-account', page, (request, reply) =>
    chooseAccount(ctx, request, reply, views, browser),
  );
}
