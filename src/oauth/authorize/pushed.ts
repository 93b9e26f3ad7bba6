/**
 * Pushed authorization requests (RFC 9126) as /authorize meets them: a `request_uri` from /par
 * stands for the parameters the client pushed, and those alone are read (§4).
 *
 * Single use, and the person's own flow: /authorize *starts* a pushed request once (an atomic
 * update), and a second start of the same request_uri is refused, from any browser, even a reload
 * of the same one (RFC 9126 §4 allows reloads but does not require them). The flow it started
 * keeps its parameters on the server, never in the browser, and carries only `client_id` and
 * `request_uri` through its round trips; each round trip *resumes* it with a proof that only that
 * flow holds: the sign-in redirect's marker (signed over those two parameters, fresh, interaction.ts)
 * or a sealed consent or account-choice form (bound to the session that saw it). A resumed request
 * may be used until it is *finished*, once, when its code is issued or the person denies it: after
 * that neither the request_uri nor any of its round trips works again.
 */

import { type AppContext, nowSeconds } from '../../context.js';
import { sha256 } from '../../lib/hash.js';
import type { Client, PushedRequestResult } from '../../store/types.js';
import { InvalidRequestUri, OAuthError, UnsafeRedirect } from '../errors.js';
import { param, type RawParams } from '../params.js';
import { LOGIN_MARKER, returnsFromSignIn } from './interaction.js';
import type { ResumeParams } from './request.js';

/** The prefix of every request_uri /par hands out (RFC 9126 §2.2). */
export const REQUEST_URI_PREFIX = 'urn:ietf:params:oauth:request_uri:';

/** How long a pushed request waits for the browser to bring it to /authorize, in seconds. */
export const PUSHED_REQUEST_TTL = 60;

/**
 * How long a started request may still be resumed and finished: time to sign in (or sign up),
 * choose an account and consent; each of those pages has its own, shorter limit besides.
 */
export const RESUME_TTL = 1800;

/** The store key of a request_uri's random part: its hash, as for every token we hand out. */
export const pushedRequestId = (random: string): string => sha256(random);

/**
 * The request_uri of a pushed request, or undefined when there is none or the value is not ours
 * (a request object by reference, which checkParameters refuses as request_uri_not_supported).
 */
export function pushedRequestUri(params: RawParams): string | undefined {
  let value: string | undefined;
  try {
    value = param(params, 'request_uri');
  } catch (error) {
    // Repeated, too long, not a string: said as param() says it, on a page (no redirect URI yet).
    if (!(error instanceof OAuthError)) throw error;
    throw new UnsafeRedirect('invalid_request', error.description);
  }
  return value?.startsWith(REQUEST_URI_PREFIX) ? value : undefined;
}

const REFUSED: Record<
  'start' | 'resume',
  Record<Exclude<PushedRequestResult['status'], 'ok'>, string>
> = {
  start: {
    missing: 'request_uri is unknown: push the authorization request to /par again',
    expired: `request_uri has expired (it lives ${PUSHED_REQUEST_TTL} seconds): push the authorization request to /par again`,
    used: 'request_uri has already been used: push a new authorization request to /par',
    other_client: 'request_uri was not pushed by this client',
  },
  resume: {
    missing: 'this authorization request is unknown: start again from the app',
    expired: 'this authorization request has expired: start again from the app',
    used: 'this authorization request has already been answered: start again from the app',
    other_client: 'request_uri was not pushed by this client',
  },
};

/** The parameters pushed under `requestUri` by `client`, started or resumed as said above. */
export async function loadPushedRequest(
  ctx: AppContext,
  client: Client,
  requestUri: string,
  use: 'start' | 'resume',
): Promise<{ id: string; parameters: ResumeParams }> {
  const id = pushedRequestId(requestUri.slice(REQUEST_URI_PREFIX.length));
  const now = nowSeconds(ctx);
  const store = ctx.store.pushedRequests;
  const result =
    use === 'start'
      ? await store.start(id, client.id, now, now + RESUME_TTL)
      : await store.resume(id, client.id, now);
  if (result.status !== 'ok') throw new InvalidRequestUri(REFUSED[use][result.status]);
  return { id, parameters: result.request.parameters };
}

/**
 * The pushed request an authorization request stands for, or undefined when it carries no
 * request_uri from /par: started, or resumed when it comes from a page's answer (`resume`) or back
 * from the sign-in redirect made for it. `raw` is what its round trips carry.
 */
export async function readPushed(
  ctx: AppContext,
  client: Client,
  query: RawParams,
  arrival: 'start' | 'resume',
): Promise<{ id: string; raw: ResumeParams; parameters: ResumeParams } | undefined> {
  const requestUri = pushedRequestUri(query);
  if (requestUri === undefined) return undefined;
  const raw = { client_id: client.id, request_uri: requestUri };
  const resumes = arrival === 'resume' || returnsFromSignIn(ctx, raw, query[LOGIN_MARKER]);
  const loaded = await loadPushedRequest(ctx, client, requestUri, resumes ? 'resume' : 'start');
  return { ...loaded, raw };
}

/** Finishes a pushed request as it is answered; a second answer is refused. */
export async function finishPushedRequest(ctx: AppContext, id: string): Promise<void> {
  if (!(await ctx.store.pushedRequests.finish(id, nowSeconds(ctx)))) {
    throw new InvalidRequestUri(REFUSED.resume.used);
  }
}

/** Whether PAR is the only way in for this client (RFC 9126 §5, §6). */
export const pushRequired = (ctx: AppContext, client: Client): boolean =>
  ctx.config.requirePar || client.requirePushedAuthorizationRequests;
