import { type AppContext, nowSeconds } from '../../context.js';
import { hmacSha256, safeEqual } from '../../lib/hash.js';
import { verifyJws } from '../../lib/jws.js';
import type { Grant, Session, User } from '../../store/types.js';
import { InvalidRequest } from '../errors.js';
import { covers } from '../scopes.js';
import type { AuthorizationRequest } from './request.js';

/**
 * The parameter our sign-in redirect adds to the resumed authorization request
 * when it forced a fresh sign-in (prompt=login, max_age): "a sign-in after this
 * time satisfies me". Signed, so it cannot be made up.
 */
export const LOGIN_MARKER = 'tessera_login';

const INTERACTION_TTL = 600;

function sign(ctx: AppContext, purpose: string, value: string): string {
  return hmacSha256(ctx.config.secret, `${purpose}:${value}`);
}

export function loginMarker(ctx: AppContext): string {
  const ts = String(nowSeconds(ctx));
  return `${ts}.${sign(ctx, 'login', ts)}`;
}

/** The time a valid marker names, or undefined. */
function markerTime(ctx: AppContext, marker: unknown): number | undefined {
  if (typeof marker !== 'string') return undefined;
  const [ts, sig] = marker.split('.');
  if (!ts || !sig || !/^\d+$/.test(ts) || !safeEqual(sig, sign(ctx, 'login', ts))) return undefined;
  return Number(ts);
}

/** The URL of the sign-in page that resumes this authorization request afterwards. */
export function loginRedirect(
  ctx: AppContext,
  request: AuthorizationRequest,
  forced: boolean,
): string {
  const resume = new URLSearchParams(request.raw);
  // Any sign-in from now on satisfies this request, so that prompt=login or max_age=0 cannot loop.
  resume.set(LOGIN_MARKER, loginMarker(ctx));
  const login = new URLSearchParams({ return_to: `/authorize?${resume.toString()}` });
  if (request.loginHint) login.set('login_hint', request.loginHint);
  if (forced) login.set('prompt', 'login');
  return `/login?${login.toString()}`;
}

export type LoginDecision =
  | { kind: 'ok' }
  /** Nobody is signed in. */
  | { kind: 'sign-in' }
  /** Someone is, but the request needs a fresh sign-in (prompt=login, max_age, another user hinted). */
  | { kind: 'fresh-sign-in' };

/** The `sub` of an ID token we issued, for id_token_hint; expired ones count (OpenID Connect Core §3.1.2.1). */
function hintedSubject(ctx: AppContext, hint: string, clientId: string): string | undefined {
  const verified = verifyJws(hint, (kid) => ctx.keys.verificationKey(kid));
  const claims = verified?.payload;
  if (!claims || claims.iss !== ctx.config.issuer) return undefined;
  const aud = claims.aud;
  if (aud !== clientId && !(Array.isArray(aud) && aud.includes(clientId))) return undefined;
  return typeof claims.sub === 'string' ? claims.sub : undefined;
}

/** Whether the person must sign in (again) before this request can go on. */
export function loginDecision(
  ctx: AppContext,
  request: AuthorizationRequest,
  session: Session | undefined,
  rawMarker: unknown,
): LoginDecision {
  if (
    request.idTokenHint !== undefined &&
    hintedSubject(ctx, request.idTokenHint, request.client.id) === undefined
  ) {
    throw new InvalidRequest('id_token_hint is not an ID token this server issued to this client');
  }
  if (!session) return { kind: 'sign-in' };
  const since = markerTime(ctx, rawMarker);
  if (since !== undefined && session.authTime >= since) return { kind: 'ok' };
  if (request.prompt.has('login') || request.prompt.has('select_account'))
    return { kind: 'fresh-sign-in' };
  // max_age=0 means "sign in now" (OpenID Connect Core §3.1.2.1), even within the second of the last sign-in.
  const age = nowSeconds(ctx) - session.authTime;
  if (request.maxAge !== undefined && (age > request.maxAge || request.maxAge === 0)) {
    return { kind: 'fresh-sign-in' };
  }
  if (
    request.idTokenHint !== undefined &&
    hintedSubject(ctx, request.idTokenHint, request.client.id) !== session.userId
  ) {
    return { kind: 'fresh-sign-in' };
  }
  return { kind: 'ok' };
}

/** Whether the consent page must be shown: no grant covers the scopes, or prompt=consent. */
export function consentNeeded(request: AuthorizationRequest, grant: Grant | undefined): boolean {
  if (request.prompt.has('consent')) return true;
  if (request.client.firstParty) return false;
  return !grant || !covers(grant.scopes, request.scopes);
}

interface SealedInteraction {
  /** The authorization request's parameters. */
  p: Record<string, string>;
  /** The user and session the consent page was shown to. */
  u: string;
  s: string;
  t: number;
}

/** Packs the pending request for the consent form: signed, bound to the person and session, short-lived. */
export function sealInteraction(
  ctx: AppContext,
  request: AuthorizationRequest,
  user: User,
  session: Session,
): string {
  const body: SealedInteraction = { p: request.raw, u: user.id, s: session.id, t: nowSeconds(ctx) };
  const text = Buffer.from(JSON.stringify(body)).toString('base64url');
  return `${text}.${sign(ctx, 'consent', text)}`;
}

/** The parameters of a sealed interaction, if it is genuine, fresh, and for this session. */
export function openInteraction(
  ctx: AppContext,
  sealed: unknown,
  session: Session,
): Record<string, string> | undefined {
  if (typeof sealed !== 'string' || sealed.length > 16_384) return undefined;
  const [text, sig] = sealed.split('.');
  if (!text || !sig || !safeEqual(sig, sign(ctx, 'consent', text))) return undefined;
  const body = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as SealedInteraction;
  if (body.u !== session.userId || body.s !== session.id) return undefined;
  if (nowSeconds(ctx) - body.t > INTERACTION_TTL) return undefined;
  return body.p;
}
