import { type AppContext, nowSeconds } from '../../context.js';
import { findApi, mayUseApi, scopesForClient } from '../../domain/apis.js';
import {
  ACCESS_TOKEN_TYPE,
  EXCHANGE_SUBJECT_TOKEN_TYPES,
  TOKEN_EXCHANGE,
} from '../../domain/client-rules.js';
import { sha256 } from '../../lib/hash.js';
import type { Api, Client, User } from '../../store/types.js';
import { InvalidRequest, InvalidScope, InvalidTarget, UnauthorizedClient } from '../errors.js';
import { type Actor, accessTokenAudience, mintAccessToken } from '../issue.js';
import { param, type RawParams, requireParam } from '../params.js';
import { parseScope } from '../scopes.js';
import { actorOf, findActiveAccessToken } from '../token-lookup.js';
import { verifyTrustedIdToken } from '../trusted-issuers.js';
import type { Grant } from './types.js';

/** Who the new token is for, read from the subject token. */
interface Subject {
  user: User;
  /** The scopes the new token may have at most. */
  scopes: string[];
  grantId?: string;
  familyId?: string;
  sessionId?: string | null;
  authTime?: number;
  acr?: string | null;
  amr?: string[] | null;
  /** The actors already acting for the subject (a token made by an earlier exchange). */
  act: Actor | undefined;
  /** RFC 8693 §4.4: who may act for the subject, when the subject token says. */
  mayAct: string | undefined;
  /** The audience the subject token was issued for; undefined: the default one. */
  audience: string | undefined;
  /** The marker that lets the subject token be traded once (an ID token). */
  tradedOnce?: { id: string; expiresAt: number };
}

/**
 * RFC 8693: a confidential client trades a token it holds (the subject token: a Tessera access
 * token, or an ID token of a trusted issuer) for an access token of this server, with a
 * narrower scope or another audience, carrying in `act` who acts for the subject. What a client
 * may exchange, and for which audiences, is its exchange policy (docs/token-exchange.md).
 */
export const tokenExchangeGrant: Grant = {
  grantType: TOKEN_EXCHANGE,
  parameters: [
    'subject_token',
    'subject_token_type',
    'actor_token',
    'actor_token_type',
    'requested_token_type',
    'audience',
    'resource',
    'scope',
  ],
  enabled: (config) => config.tokenExchange,

  async handle(ctx: AppContext, client, params, _request, dpop) {
    if (client.type === 'public') {
      throw new UnauthorizedClient(
        'public clients cannot use token exchange: the client must authenticate',
      );
    }
    const subjectToken = requireParam(params, 'subject_token');
    const subjectType = requireParam(params, 'subject_token_type');
    const actorToken = param(params, 'actor_token');
    const actorType = param(params, 'actor_token_type');
    checkTokenTypes(
      client,
      subjectType,
      actorToken,
      actorType,
      param(params, 'requested_token_type'),
    );
    const target = targetOf(params);
    const requestedScope = param(params, 'scope');

    const subject =
      subjectType === ACCESS_TOKEN_TYPE
        ? await accessTokenSubject(ctx, client, subjectToken)
        : await idTokenSubject(ctx, client, subjectToken);
    const targetApi = await exchangeApi(ctx, client, target);
    const audience = audienceOf(ctx, client, subject, target, targetApi);
    // A token for a registered API is shaped by it (RFC 8707): its scopes, format and lifetime.
    const api = targetApi?.identifier === audience ? targetApi : undefined;
    const actor =
      actorToken === undefined ? undefined : await actorSub(ctx, client, subject, actorToken);
    // Without an actor token the client acts for the subject itself: may_act must name it.
    if (subject.mayAct !== undefined && subject.mayAct !== (actor ?? client.id)) {
      throw new InvalidRequest(
        'the subject token\'s "may_act" claim does not name this actor: it may not act for the subject',
      );
    }
    if (depthOf(subject.act) >= MAX_ACTORS) {
      throw new InvalidRequest(
        `the subject token already carries ${MAX_ACTORS} actors: a delegation chain may not be longer`,
      );
    }
    const scopes = scopesOf(subject.scopes, requestedScope);
    // RFC 8693 §4.1: `act` names who acts for the subject, with the earlier actors nested. With
    // no actor token the exchanging client itself is named: Tessera records who acts, never
    // impersonation without a trace (docs/token-exchange.md).
    const actorId = actor ?? client.id;
    const act: Actor = subject.act ? { sub: actorId, act: subject.act } : { sub: actorId };

    // Spent last, once every check has passed: a refused exchange leaves the ID token usable.
    // One seen by whoever sits between the front end and this server cannot be traded again.
    if (
      subject.tradedOnce &&
      !(await ctx.store.markers.use(subject.tradedOnce.id, subject.tradedOnce.expiresAt))
    ) {
      throw new InvalidRequest(
        'the subject_token was exchanged before: an ID token is traded once',
      );
    }
    const minted = mintAccessToken(ctx, {
      client,
      user: subject.user,
      scopes,
      ...(subject.grantId ? { grantId: subject.grantId } : {}),
      ...(subject.familyId ? { familyId: subject.familyId } : {}),
      sessionId: subject.sessionId ?? null,
      ...(subject.authTime !== undefined ? { authTime: subject.authTime } : {}),
      acr: subject.acr ?? null,
      amr: subject.amr ?? null,
      audience,
      ...(api ? { api } : {}),
      act,
      // A proof with the request binds the new token to its key (RFC 9449), as in every grant.
      jkt: dpop?.jkt ?? null,
    });
    // The record ties the token to the subject's grant, family and session: revoking any of them
    // revokes this token too, as for the tokens they issued directly.
    if (minted.record) await ctx.store.tokens.save(minted.record);
    if (subject.grantId) await ctx.store.grants.touch(subject.grantId, nowSeconds(ctx));
    ctx.log.info(
      { clientId: client.id, userId: subject.user.id, actor, audience, subjectType },
      'token exchanged',
    );
    return {
      access_token: minted.token,
      issued_token_type: ACCESS_TOKEN_TYPE,
      token_type: dpop ? 'DPoP' : 'Bearer',
      expires_in: minted.expiresIn,
      scope: minted.scope,
    };
  },
};

/** RFC 8693 §2.1: the token types named, and whether this client may exchange the subject's. */
function checkTokenTypes(
  client: Client,
  subjectType: string,
  actorToken: string | undefined,
  actorType: string | undefined,
  requestedType: string | undefined,
): void {
  if (!(EXCHANGE_SUBJECT_TOKEN_TYPES as readonly string[]).includes(subjectType)) {
    throw new InvalidRequest(
      `subject_token_type "${subjectType}" is not supported (one of: ${EXCHANGE_SUBJECT_TOKEN_TYPES.join(', ')})`,
    );
  }
  if (!client.tokenExchangeSubjectTokenTypes.includes(subjectType)) {
    throw new InvalidRequest(`this client may not exchange subject tokens of type ${subjectType}`);
  }
  if (actorToken !== undefined && actorType === undefined)
    throw new InvalidRequest('actor_token_type is required when actor_token is sent');
  if (actorToken === undefined && actorType !== undefined)
    throw new InvalidRequest('actor_token_type was sent without an actor_token');
  if (actorType !== undefined && actorType !== ACCESS_TOKEN_TYPE) {
    throw new InvalidRequest(
      `actor_token_type "${actorType}" is not supported: the actor token must be an access token of this server (${ACCESS_TOKEN_TYPE})`,
    );
  }
  if (requestedType !== undefined && requestedType !== ACCESS_TOKEN_TYPE) {
    throw new InvalidRequest(
      `requested_token_type "${requestedType}" is not supported: token exchange issues access tokens (${ACCESS_TOKEN_TYPE})`,
    );
  }
}

/** The longest delegation chain a token may carry (nested `act`). */
const MAX_ACTORS = 10;

function depthOf(act: Actor | undefined): number {
  return act ? 1 + depthOf(act.act) : 0;
}

/**
 * The target asked for (RFC 8693 §2.1, RFC 8707): `audience` or `resource`, one target, or
 * undefined when neither was sent.
 */
function targetOf(params: RawParams): string | undefined {
  for (const name of ['audience', 'resource']) {
    if (Array.isArray(params[name])) {
      throw new InvalidTarget(
        `one ${name} per token: a token exchange issues a token for one target`,
      );
    }
  }
  const audience = param(params, 'audience');
  const resource = param(params, 'resource');
  if (resource !== undefined && !isAbsoluteUri(resource)) {
    throw new InvalidTarget('resource must be an absolute URI without a fragment (RFC 8707 §2)');
  }
  if (audience !== undefined && resource !== undefined && audience !== resource) {
    throw new InvalidTarget(
      'audience and resource name different targets: a token exchange issues a token for one',
    );
  }
  return audience ?? resource;
}

/**
 * The audience of the new token. A subject token is exchanged by a client it was meant for:
 * one of the default audience (the issuer), or one issued for this client as its audience (an
 * API trading the token it was called with). Without a target the new token keeps the subject's
 * audience; any other audience — the default one included, for a subject meant for an API —
 * must be on the client's exchange policy, so that a token narrowed to one API never becomes a
 * token for all of them again.
 */
function audienceOf(
  ctx: AppContext,
  client: Client,
  subject: Subject,
  target: string | undefined,
  /** The registered API `target` names, when the client may use it (RFC 8707). */
  api: Api | undefined,
): string {
  const fallback = accessTokenAudience(ctx);
  const from = subject.audience ?? fallback;
  if (from !== fallback && from !== client.id) {
    throw new InvalidRequest(
      `the subject_token is meant for another audience ("${from}"): only that audience may exchange it`,
    );
  }
  const to = target ?? from;
  if (to !== from && !client.tokenExchangeAudiences.includes(to) && api === undefined) {
    throw new InvalidTarget(`this client may not obtain tokens for the audience "${to}"`);
  }
  return to;
}

/** The registered API a target names, if this client may get tokens for it (domain/apis.ts). */
async function exchangeApi(
  ctx: AppContext,
  client: Client,
  target: string | undefined,
): Promise<Api | undefined> {
  if (target === undefined) return undefined;
  const api = await findApi(ctx, target);
  return api && mayUseApi(client, api) ? api : undefined;
}

function isAbsoluteUri(value: string): boolean {
  if (value.includes('#')) return false;
  try {
    new URL(value);
    return /^[a-z][a-z0-9+.-]*:/i.test(value);
  } catch {
    return false;
  }
}

/** A Tessera access token for a person, active now: not expired, revoked, or its grant gone. */
async function accessTokenSubject(
  ctx: AppContext,
  client: Client,
  token: string,
): Promise<Subject> {
  const active = await findActiveAccessToken(ctx, token);
  if (!active) {
    throw new InvalidRequest(
      'the subject_token is not an active access token of this server: unknown, expired or revoked',
    );
  }
  // Exchanging a DPoP-bound token would turn a token usable only with its key into one usable
  // without: whoever stole it could launder it here.
  if (active.jkt) {
    throw new InvalidRequest(
      'the subject_token is DPoP-bound: it cannot be exchanged for a token without its key',
    );
  }
  if (active.userId === undefined) {
    throw new InvalidRequest(
      "the subject_token is a client's own token: token exchange needs a token issued for a person",
    );
  }
  if (!active.user)
    throw new InvalidRequest('the person the subject_token was issued for no longer exists');
  const record = active.record;
  // What this client may ask for: its own scopes, and those of the APIs it may use (RFC 8707).
  const allowed = await scopesForClient(ctx, client);
  return {
    user: active.user,
    // Never wider than the subject token, nor than what this client may ask for.
    scopes: active.scopes.filter((s) => allowed.includes(s) && s !== 'offline_access'),
    ...(record?.grantId ? { grantId: record.grantId } : {}),
    ...(record?.familyId ? { familyId: record.familyId } : {}),
    sessionId: record?.sessionId ?? active.sessionId ?? null,
    ...(record?.authTime != null ? { authTime: record.authTime } : {}),
    acr: record?.acr ?? null,
    amr: record?.amr ?? null,
    act: active.act,
    mayAct: undefined,
    audience: active.audience,
  };
}

/*
 * offline_access is never given: an exchange issues no refresh token (RFC 8693 §2.2.1 allows one,
 * but a token for another API should not outlive the one it was made from).
 */

/**
 * An ID token of a trusted issuer, for the person an admin linked to its `iss` and `sub`. A
 * person's scopes (openid, profile, …) may be asked for, as far as the client may ask for them.
 */
async function idTokenSubject(ctx: AppContext, client: Client, token: string): Promise<Subject> {
  const claims = await verifyTrustedIdToken(ctx, token, client.tokenExchangeTrustedIssuers);
  const user = await ctx.store.externalIdentities.findUser(claims.iss, claims.sub);
  if (!user) {
    throw new InvalidRequest(
      `no local account is linked to subject "${claims.sub}" of "${claims.iss}"`,
    );
  }
  const mayAct = actorOf(claims.may_act);
  return {
    user,
    scopes: client.scopes.filter((s) => s !== 'offline_access'),
    ...(typeof claims.auth_time === 'number' ? { authTime: claims.auth_time } : {}),
    act: undefined,
    mayAct: mayAct?.sub,
    audience: undefined,
    // Keyed by what the signature covers: a signature can be spelt more than one way.
    tradedOnce: {
      id: `exchanged-id-token:${sha256(`${claims.iss} ${token.slice(0, token.lastIndexOf('.'))}`)}`,
      expiresAt: claims.exp as number,
    },
  };
}

/**
 * The `sub` of the actor token: a Tessera access token, active now, issued to the client that
 * exchanges (its own token, or one a person gave it), and not the subject's own: a client puts
 * in `act` only a party it holds a token for itself.
 */
async function actorSub(
  ctx: AppContext,
  client: Client,
  subject: Subject,
  token: string,
): Promise<string> {
  const active = await findActiveAccessToken(ctx, token);
  if (!active) {
    throw new InvalidRequest(
      'the actor_token is not an active access token of this server: unknown, expired or revoked',
    );
  }
  if (active.jkt)
    throw new InvalidRequest('the actor_token is DPoP-bound: it cannot stand for its holder here');
  if (active.clientId !== client.id) {
    throw new InvalidRequest(
      'the actor_token was issued to another client: an actor token must be one this client was issued',
    );
  }
  if (active.sub === subject.user.id)
    throw new InvalidRequest(
      'the actor_token is the subject’s own: the subject cannot act for itself',
    );
  return active.sub;
}

/** The new token's scope: what was asked for, which must be within what the subject allows. */
function scopesOf(allowed: string[], requested: string | undefined): string[] {
  if (requested === undefined) {
    if (allowed.length === 0)
      throw new InvalidScope('no scope of the subject token may be given to this client');
    return allowed;
  }
  const scopes = parseScope(requested);
  if (scopes.length === 0) throw new InvalidScope('scope is empty');
  const wider = scopes.filter((s) => !allowed.includes(s));
  if (wider.length > 0) {
    throw new InvalidScope(
      `scope ${wider.join(' ')} is not within the subject token's scope and this client's`,
    );
  }
  return scopes;
}
