import { type AppContext, nowSeconds } from '../../context.js';
import { acrAsAsked, sessionAcr } from '../../domain/acr.js';
import { grantConsentAsShown, NOTHING_SHOWN, type ShownAsGranted } from '../../domain/grants.js';
import { sha256 } from '../../lib/hash.js';
import { randomId, randomToken } from '../../lib/random.js';
import type { Grant, Session, User } from '../../store/types.js';
import { releasedClaimNames } from '../claims.js';
import { issueAccessToken, issueIdToken } from '../issue.js';
import { scopesToIssue } from './incremental.js';
import { finishPushedRequest } from './pushed.js';
import { type AuthorizationRequest, requestedResources } from './request.js';

/**
 * Records what the person allowed (or finds it recorded): the grant, or `{ changed }` when the
 * consent page listed as allowed before something the grant no longer has (grantConsentAsShown).
 */
export function recordConsent(
  ctx: AppContext,
  request: AuthorizationRequest,
  user: User,
  existing: Grant | undefined,
  shownAsGranted: ShownAsGranted = NOTHING_SHOWN,
): Promise<{ grant: Grant } | { changed: Grant | undefined }> {
  const consent = {
    userId: user.id,
    clientId: request.client.id,
    scopes: request.scopes,
    claims: request.claimNames,
    resources: requestedResources(request),
    existing,
    releasedByScopes: releasedClaimNames,
  };
  return grantConsentAsShown(ctx, consent, shownAsGranted);
}

/**
 * Issues the authorization code under `grant` (the person's, covering the request), and for
 * hybrid response types the front-channel tokens too. Returns the response's parameters.
 */
export async function completeAuthorization(
  ctx: AppContext,
  request: AuthorizationRequest,
  user: User,
  session: Session,
  grant: Grant,
): Promise<Record<string, string>> {
  // One code per pushed request: whichever of its round trips comes first finishes it.
  if (request.pushed !== undefined) await finishPushedRequest(ctx, request.pushed);
  const now = nowSeconds(ctx);
  const scopes = scopesToIssue(request, grant);
  // In the client's spelling when it asked with a short name (acr_values=mfa).
  const acr = acrAsAsked(sessionAcr(session), request.acr?.asked);

  const code = randomToken(32);
  const familyId = randomId();
  await ctx.store.codes.save({
    id: sha256(code),
    familyId,
    grantId: grant.id,
    clientId: request.client.id,
    userId: user.id,
    redirectUri: request.redirectUriAsSent,
    resources: request.apis.map((api) => api.identifier),
    scope: scopes.join(' '),
    codeChallenge: request.codeChallenge ?? null,
    codeChallengeMethod: request.codeChallenge ? 'S256' : null,
    nonce: request.nonce ?? null,
    sessionId: session.id,
    authTime: session.authTime,
    acr,
    amr: session.amr,
    claims: request.claims ?? null,
    sessionExpiresAt: session.expiresAt,
    dpopJkt: request.dpopJkt ?? null,
    createdAt: now,
    expiresAt: now + ctx.config.codeTtl,
    consumedAt: null,
  });
  await ctx.store.sessions.addClient(session.id, request.client.id, now);

  const response: Record<string, string> = { code };
  const subject = {
    client: request.client,
    user,
    scopes,
    grantId: grant.id,
    familyId,
    sessionId: session.id,
    authTime: session.authTime,
    acr,
    amr: session.amr,
    claims: request.claims ?? null,
  };
  const parts = request.responseType.split(' ');
  let accessToken: string | undefined;
  if (parts.includes('token')) {
    const access = await issueAccessToken(ctx, subject);
    accessToken = access.token;
    Object.assign(response, {
      access_token: access.token,
      token_type: 'Bearer',
      expires_in: String(access.expiresIn),
      // RFC 6749 §4.2.2: said, as it may be narrower than granted (no API's scope is in a token
      // for Tessera itself).
      scope: access.scope,
    });
  }
  if (parts.includes('id_token')) {
    response.id_token = issueIdToken(ctx, {
      ...subject,
      nonce: request.nonce,
      code,
      ...(accessToken ? { accessToken } : {}),
    });
  }
  return response;
}
