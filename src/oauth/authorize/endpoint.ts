import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../../context.js';
import type { BrowserSession } from '../browser.js';
import { AccessDenied, InvalidRequest, OAuthError } from '../errors.js';
import { bodyParams, type RawParams } from '../params.js';
import type { ProtocolViews } from '../views.js';
import { completeAuthorization, recordConsent } from './complete.js';
import {
  answerDecision,
  LOGIN_MARKER,
  loginDecision,
  loginRedirect,
  openInteraction,
} from './interaction.js';
import { finishPushedRequest } from './pushed.js';
import { sendAuthorizationError, sendAuthorizationResponse } from './respond.js';
import {
  consentAndComplete,
  showAccountChooser,
  showConsent,
  signInFirst,
  validate,
} from './steps.js';

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
    if (decision.kind !== 'ok') return signInFirst(ctx, reply, request, decision.kind);
    // select_account asks the person which account to use (OpenID Connect Core §3.1.2.1); one
    // who has just signed in for this very request has chosen already.
    if (request.prompt.has('select_account') && !decision.fresh) {
      return showAccountChooser(ctx, httpRequest, reply, views, request, signedIn!);
    }
    return await consentAndComplete(
      ctx,
      httpRequest,
      reply,
      views,
      request,
      signedIn!,
      decision.fresh,
    );
  } catch (e) {
    if (e instanceof OAuthError && e.redirectable) return send(e);
    throw e;
  }
}

/** What a posted page (consent, the account chooser) answers for, and the form each one is. */
const ANSWERED = {
  consent: 'this consent form',
  'select-account': 'this account choice',
} as const;

/**
 * The signed-in person and the request a posted page carries, opened only for the page it was
 * sealed for and the session that saw it.
 */
async function openAnswer(
  ctx: AppContext,
  httpRequest: FastifyRequest,
  browser: BrowserSession,
  page: keyof typeof ANSWERED,
  form: RawParams,
) {
  const signedIn = await browser.signedIn(httpRequest);
  const opened = signedIn && (await openInteraction(ctx, page, form.interaction, signedIn.session));
  if (!signedIn || !opened) {
    throw new InvalidRequest(
      `${ANSWERED[page]} has expired or belongs to another sign-in: start again from the app`,
    );
  }
  return { signedIn, opened };
}

/**
 * The consent form's answer: Allow issues the code, unless the sign-in no longer meets the
 * request (max_age ran out while the page was open), which sends the person to sign in again;
 * Deny sends access_denied.
 */
async function decide(
  ctx: AppContext,
  httpRequest: FastifyRequest,
  reply: FastifyReply,
  views: ProtocolViews,
  browser: BrowserSession,
): Promise<FastifyReply> {
  browser.checkForm(httpRequest);
  const form = bodyParams(httpRequest.body);
  const { signedIn, opened } = await openAnswer(ctx, httpRequest, browser, 'consent', form);
  const { target, request, error } = await validate(ctx, opened.params, 'resume');
  const send = (e: OAuthError) =>
    sendAuthorizationError(httpRequest, reply, views, ctx.config.issuer, target!, e);
  if (error || !request) return send(error!);
  if (form.decision !== 'allow') {
    // A pushed request is answered by a denial too: it cannot be started or resumed again.
    if (request.pushed !== undefined) await finishPushedRequest(ctx, request.pushed);
    return send(new AccessDenied('the end-user denied the request'));
  }
  try {
    const { user, session } = signedIn;
    const decision = await answerDecision(ctx, request, session, opened.fresh);
    if (decision.kind !== 'ok') return signInFirst(ctx, reply, request, decision.kind);
    const seen = await ctx.store.grants.find(user.id, request.client.id);
    const recorded = await recordConsent(ctx, request, user, seen, opened.shownAsGranted);
    // The page listed as allowed before what the grant no longer has (the person took it back
    // while the page was open): its Allow does not stand for that, so the page is shown again.
    if (!('grant' in recorded)) {
      const { changed } = recorded;
      return showConsent(ctx, httpRequest, reply, views, request, signedIn, changed, opened.fresh);
    }
    const values = await completeAuthorization(ctx, request, user, session, recorded.grant);
    return sendAuthorizationResponse(httpRequest, reply, views, ctx.config.issuer, request, values);
  } catch (e) {
    if (e instanceof OAuthError && e.redirectable) return send(e);
    throw e;
  }
}

/**
 * The account chooser's answer: "Continue" goes on as the signed-in person (to consent, or the
 * code), or to the sign-in page if their sign-in no longer meets the request (max_age ran out
 * while the page was open); "Use another account" goes to the sign-in page, which comes back to
 * this request.
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
  // Checked before the form is opened, so that a malformed answer does not use it up.
  if (form.choice !== 'continue' && form.choice !== 'other') {
    throw new InvalidRequest('choice must be "continue" or "other"');
  }
  const { signedIn, opened } = await openAnswer(ctx, httpRequest, browser, 'select-account', form);
  const { target, request, error } = await validate(ctx, opened.params, 'resume');
  const send = (e: OAuthError) =>
    sendAuthorizationError(httpRequest, reply, views, ctx.config.issuer, target!, e);
  if (error || !request) return send(error!);
  // The session stays until someone else signs in, which ends it as any sign-in in this browser does.
  if (form.choice === 'other') {
    return reply.redirect(loginRedirect(ctx, request, { forced: false, hint: false }), 303);
  }
  try {
    const decision = await answerDecision(ctx, request, signedIn.session, opened.fresh);
    if (decision.kind !== 'ok') return signInFirst(ctx, reply, request, decision.kind);
    return await consentAndComplete(ctx, httpRequest, reply, views, request, signedIn, false);
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
