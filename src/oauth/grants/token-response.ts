import { type AppContext, nowSeconds } from '../../context.js';
import type { TokenRecord, User } from '../../store/types.js';
import { issueIdToken, mintAccessToken, mintRefreshToken, type TokenSubject } from '../issue.js';
import type { TokenResponse } from './types.js';

export interface PersonTokens {
  /**
   * Issue a refresh token in the subject's family with this scope and absolute end, belonging to
   * `sessionId` (ended with it), or to no session when `offline_access` was granted.
   */
  refresh?: {
    scopes: string[];
    familyExpiresAt: number;
    sessionId: string | null;
    /** The DPoP key the refresh token is bound to: a public client's (RFC 9449 §5), else null. */
    jkt: string | null;
    /** The resources (RFC 8707) granted: later refreshes may ask for any one of them. */
    resources: readonly string[];
  };
  /** The nonce of the authorization request, for the ID token of a code exchange. */
  nonce?: string | null;
}

type PersonSubject = TokenSubject & { user: User; familyId: string };

/** The tokens of a grant made for a person, made and signed but not yet stored. */
export interface MintedPersonTokens {
  /** To store, in one statement: one commit instead of one per token. */
  records: TokenRecord[];
  /** The response, less the ID token (completePersonTokens adds it). */
  response: TokenResponse;
  accessToken: string;
}

/** Makes the access token, and the refresh token when asked, of a grant made for a person. */
export function mintPersonTokens(
  ctx: AppContext,
  subject: PersonSubject,
  options: PersonTokens,
): MintedPersonTokens {
  const access = mintAccessToken(ctx, subject);
  const records: TokenRecord[] = access.record ? [access.record] : [];
  const response: TokenResponse = {
    access_token: access.token,
    token_type: subject.jkt ? 'DPoP' : 'Bearer',
    expires_in: access.expiresIn,
    scope: access.scope,
  };
  if (options.refresh) {
    const refresh = mintRefreshToken(ctx, {
      ...subject,
      scopes: options.refresh.scopes,
      sessionId: options.refresh.sessionId,
      familyExpiresAt: options.refresh.familyExpiresAt,
      refreshJkt: options.refresh.jkt,
      resources: options.refresh.resources,
    });
    records.push(refresh.record);
    response.refresh_token = refresh.token;
  }
  return { records, response, accessToken: access.token };
}

/**
 * Finishes the response once its tokens are stored: an ID token when `openid`
 * is in scope, and the grant's "last used" moves on.
 */
export async function completePersonTokens(
  ctx: AppContext,
  subject: PersonSubject,
  minted: MintedPersonTokens,
  options: PersonTokens,
): Promise<TokenResponse> {
  const response = { ...minted.response };
  if (subject.scopes.includes('openid')) {
    response.id_token = issueIdToken(ctx, {
      ...subject,
      nonce: options.nonce ?? null,
      accessToken: minted.accessToken,
    });
  }
  if (subject.grantId) await ctx.store.grants.touch(subject.grantId, nowSeconds(ctx));
  return response;
}
