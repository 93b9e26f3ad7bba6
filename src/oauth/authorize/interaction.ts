import { type AppContext, nowSeconds } from '../../context.js';
import { satisfiesAcr, sessionAcr } from '../../domain/acr.js';
import { grantCovers, isFirstParty, type ShownAsGranted } from '../../domain/grants.js';
import { reachableAcrOf } from '../../domain/two-factor.js';
import { hmacSha256, safeEqual, sha256 } from '../../lib/hash.js';
import { randomId } from '../../lib/random.js';
import type { Grant, Session, User } from '../../store/types.js';
import { releasedClaimNames } from '../claims.js';
import { InvalidRequest, UnmetAuthenticationRequirements } from '../errors.js';
import { readIdTokenHint } from '../id-token-hint.js';
import { type AuthorizationRequest, type ResumeParams, requestedResources } from './request.js';

/**
 * The parameter our sign-in redirect adds to the resumed authorization request:
 * "a sign-in after this time satisfies me", so that prompt=login or max_age=0
 * cannot loop. It is signed over the request it was made for, lives long enough
 * to sign in, and is accepted once (OpenID Connect Core §3.1.2.1: a later
 * request asking for a fresh sign-in cannot borrow it).
 */
export const LOGIN_MARKER = 'tessera_login';

/** How long a person has to sign in, and to answer the consent page or the account chooser. */
const MARKER_TTL = 600;
const INTERACTION_TTL = 600;

function sign(ctx: AppContext, purpose: string, value: string): string {
  return hmacSha256(ctx.config.secret, `${purpose}:${value}`);
}

/** The request's parameters, in one canonical form, hashed. */
function requestDigest(raw: ResumeParams): string {
  return sha256(JSON.stringify(Object.entries(raw).sort(([a], [b]) => (a < b ? -1 : 1))));
}

/** A marker for `request`: `<time>.<id>.<signature over both and the request>`. */
export function loginMarker(ctx: AppContext, request: AuthorizationRequest): string {
  const body = `${nowSeconds(ctx)}.${randomId(12)}`;
  return `${body}.${sign(ctx, 'login', `${body}.${requestDigest(request.raw)}`)}`;
}

/** The time and id of a marker made for the request of these `raw` parameters and still fresh, or undefined. */
function openMarker(
  ctx: AppContext,
  raw: ResumeParams,
  marker: unknown,
): { time: number; id: string } | undefined {
  if (typeof marker !== 'string' || marker.length > 200) return undefined;
  const [time, id, sig, extra] = marker.split('.');
  if (!time || !id || !sig || extra !== undefined || !/^\d{1,12}$/.test(time)) return undefined;
  const expected = sign(ctx, 'login', `${time}.${id}.${requestDigest(raw)}`);
  if (!safeEqual(sig, expected)) return undefined;
  const made = Number(time);
  return nowSeconds(ctx) - made <= MARKER_TTL ? { time: made, id } : undefined;
}

/**
 * Whether `marker` is one our sign-in redirect made for the request of these `raw` parameters and
 * still fresh: the browser is coming back from signing in for it. Spends nothing (loginDecision
 * does); pushed.ts lets only such a return resume a pushed request.
 */
export function returnsFromSignIn(ctx: AppContext, raw: ResumeParams, marker: unknown): boolean {
  return openMarker(ctx, raw, marker) !== undefined;
}

/**
 * The URL of the sign-in page that resumes this authorization request afterwards: `forced` when
 * someone is signed in but must sign in again; `hint` false when the person asked to use another
 * account, so that the page does not come filled in with the one they are leaving.
 */
export function loginRedirect(
  ctx: AppContext,
  request: AuthorizationRequest,
  { forced, hint = true }: { forced: boolean; hint?: boolean },
): string {
  const resume = new URLSearchParams();
  for (const [key, value] of Object.entries(request.raw)) {
    for (const item of Array.isArray(value) ? value : [value]) resume.append(key, item);
  }
  resume.set(LOGIN_MARKER, loginMarker(ctx, request));
  const login = new URLSearchParams({ return_to: `/authorize?${resume.toString()}` });
  if (hint && request.loginHint) login.set('login_hint', request.loginHint);
  if (forced) login.set('prompt', 'login');
  return `${ctx.config.issuerPath}/login?${login.toString()}`;
}

export type LoginDecision =
  /** The session will do; `fresh` when the person has just signed in for this very request. */
  | { kind: 'ok'; fresh: boolean }
  /** Nobody is signed in. */
  | { kind: 'sign-in' }
  /** Someone is, but the request needs a fresh sign-in (prompt=login, max_age, another user hinted). */
  | { kind: 'fresh-sign-in' }
  /** Someone is, but their sign-in did not reach the class (acr) the request asks for. */
  | { kind: 'stronger-sign-in' };

/** The `sub` of an ID token we issued, for id_token_hint; expired ones count (OpenID Connect Core §3.1.2.1). */
async function hintedSubject(
  ctx: AppContext,
  hint: string,
  clientId: string,
): Promise<string | undefined> {
  const claims = await readIdTokenHint(ctx, hint);
  if (!claims) return undefined;
  const aud = claims.aud;
  if (aud !== clientId && !(Array.isArray(aud) && aud.includes(clientId))) return undefined;
  return typeof claims.sub === 'string' ? claims.sub : undefined;
}

/** Whether the session reached one of the classes the request asks for (or it asks for none). */
function reachesAcr(request: AuthorizationRequest, session: Session): boolean {
  const achieved = sessionAcr(session);
  return !request.acr || request.acr.values.some((wanted) => satisfiesAcr(achieved, wanted));
}

/** Whether the sign-in is older than max_age allows (max_age=0, "sign in now", is the callers'). */
function tooOld(ctx: AppContext, request: AuthorizationRequest, session: Session): boolean {
  return request.maxAge !== undefined && nowSeconds(ctx) - session.authTime > request.maxAge;
}

/** Whether the person must sign in (again) before this request can go on. */
export async function loginDecision(
  ctx: AppContext,
  request: AuthorizationRequest,
  session: Session | undefined,
  rawMarker: unknown,
): Promise<LoginDecision> {
  if (
    request.idTokenHint !== undefined &&
    (await hintedSubject(ctx, request.idTokenHint, request.client.id)) === undefined
  ) {
    throw new InvalidRequest('id_token_hint is not an ID token this server issued to this client');
  }
  if (!session) return { kind: 'sign-in' };
  const marker = openMarker(ctx, request.raw, rawMarker);
  if (
    marker &&
    session.authTime >= marker.time &&
    (await ctx.store.markers.use(`login:${marker.id}`, marker.time + MARKER_TTL))
  ) {
    // Signed in just now for this request: a class still not reached cannot be reached by
    // asking again. Required (essential), the request fails; asked for, it goes on, and the ID
    // token's acr says what was reached (OpenID Connect Core §5.5.1.1).
    if (request.acr?.essential && !reachesAcr(request, session)) {
      throw new UnmetAuthenticationRequirements(
        'the sign-in did not reach the authentication context class required (claims.id_token.acr)',
      );
    }
    return { kind: 'ok', fresh: true };
  }
  if (request.prompt.has('login')) return { kind: 'fresh-sign-in' };
  // max_age=0 means "sign in now" (OpenID Connect Core §3.1.2.1), even within the second of the last sign-in.
  if (tooOld(ctx, request, session) || request.maxAge === 0) return { kind: 'fresh-sign-in' };
  if (
    request.idTokenHint !== undefined &&
    (await hintedSubject(ctx, request.idTokenHint, request.client.id)) !== session.userId
  ) {
    return { kind: 'fresh-sign-in' };
  }
  if (!reachesAcr(request, session)) {
    const best = await reachableAcrOf(ctx, session.userId);
    if (request.acr?.values.some((wanted) => satisfiesAcr(best, wanted))) {
      return { kind: 'stronger-sign-in' };
    }
    // Signing in again cannot reach it (two factors asked of a person with one): required, the
    // request fails now; asked for, it goes on with the session, and the ID token's acr says
    // what it reached (OpenID Connect Core §5.5.1.1).
    if (request.acr?.essential) {
      throw new UnmetAuthenticationRequirements(
        'the person cannot reach the authentication context class required (claims.id_token.acr): no second factor is set up',
      );
    }
  }
  return { kind: 'ok', fresh: false };
}

/**
 * Whether the sign-in a page was shown to still does when the page's form comes back, which may
 * be minutes later: max_age may have run out meanwhile. A sign-in made for this very request
 * (`fresh`) met prompt=login, max_age=0 and the acr asked for once and for all, but not a
 * positive max_age, which the client checks against the ID token's auth_time itself.
 */
export async function answerDecision(
  ctx: AppContext,
  request: AuthorizationRequest,
  session: Session,
  fresh: boolean,
): Promise<LoginDecision> {
  if (!fresh) return loginDecision(ctx, request, session, undefined);
  // max_age=0 asked for this sign-in, as prompt=login does: were it held to zero seconds, no one
  // could answer the page in time.
  if (request.maxAge !== 0 && tooOld(ctx, request, session)) return { kind: 'fresh-sign-in' };
  return { kind: 'ok', fresh: true };
}

/**
 * Whether the consent page must be shown: prompt=consent, or no grant covers the scopes, the
 * claims asked for by name (a claim asked for through `claims` needs consent like a scope) and
 * the APIs named with `resource` (a token for an API the person never allowed the app to reach
 * needs consent like a scope, even when the API has no scopes). First-party clients skip it
 * for all three alike; only a client an admin registered can be one, whatever its flag says.
 */
export function consentNeeded(request: AuthorizationRequest, grant: Grant | undefined): boolean {
  if (request.prompt.has('consent')) return true;
  if (isFirstParty(request.client)) return false;
  const asked = {
    scopes: request.scopes,
    claims: request.claimNames,
    resources: requestedResources(request),
  };
  return !grantCovers(grant, asked, releasedClaimNames);
}

interface SealedInteraction {
  /** The authorization request's parameters. */
  p: ResumeParams;
  /** The user and session the page was shown to. */
  u: string;
  s: string;
  t: number;
  /** Whether the person signed in for this very request just before the page (see answerDecision). */
  f: boolean;
  /** Makes each form answerable once. */
  n: string;
  /** The consent page's scopes, claims and APIs listed as allowed before (consent only). */
  g?: ShownAsGranted;
}

/**
 * The pages that carry a pending request and come back with the person's answer. Each seals for
 * its own purpose, so that an answer cannot be replayed to the other.
 */
export type InteractionPage = 'consent' | 'select-account';

const ANSWERED: Record<InteractionPage, string> = {
  consent: 'this consent form has already been answered: start again from the app',
  'select-account': 'this account choice has already been made: start again from the app',
};

/** Packs the pending request for a page's form: signed, bound to the person and session, short-lived. */
export function sealInteraction(
  ctx: AppContext,
  page: InteractionPage,
  request: AuthorizationRequest,
  user: User,
  session: Session,
  fresh: boolean,
  shownAsGranted?: ShownAsGranted,
): string {
  const body: SealedInteraction = {
    p: request.raw,
    u: user.id,
    s: session.id,
    t: nowSeconds(ctx),
    f: fresh,
    n: randomId(12),
    ...(shownAsGranted ? { g: shownAsGranted } : {}),
  };
  const text = Buffer.from(JSON.stringify(body)).toString('base64url');
  return `${text}.${sign(ctx, page, text)}`;
}

/**
 * The parameters of a sealed interaction, and whether the person had signed in for it, if it is
 * genuine, made for `page`, fresh, for this session, and not answered before: each form is
 * accepted once.
 */
export async function openInteraction(
  ctx: AppContext,
  page: InteractionPage,
  sealed: unknown,
  session: Session,
): Promise<{ params: ResumeParams; fresh: boolean; shownAsGranted: ShownAsGranted } | undefined> {
  if (typeof sealed !== 'string' || sealed.length > 16_384) return undefined;
  const [text, sig] = sealed.split('.');
  if (!text || !sig || !safeEqual(sig, sign(ctx, page, text))) return undefined;
  const body = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as SealedInteraction;
  if (body.u !== session.userId || body.s !== session.id) return undefined;
  if (nowSeconds(ctx) - body.t > INTERACTION_TTL) return undefined;
  if (!(await ctx.store.markers.use(`${page}:${body.n}`, body.t + INTERACTION_TTL))) {
    throw new InvalidRequest(ANSWERED[page]);
  }
  return {
    params: body.p,
    fresh: body.f === true,
    shownAsGranted: {
      scopes: body.g?.scopes ?? [],
      claims: body.g?.claims ?? [],
      resources: body.g?.resources ?? [],
    },
  };
}
