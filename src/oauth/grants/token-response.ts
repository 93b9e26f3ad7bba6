import { type AppContext, nowSeconds } from '../../context.js';
import type { TokenRecord, User } from '../../store/types.js';
import { issueIdToken, mintAccessToken, mintRefreshToken, type TokenSubject } from '../issue.js';
import { formatScope } from '../scopes.js';
import type { TokenResponse } from './types.js';

export interface PersonTokens {
  /** Issue a refresh token in the subject's family with this scope and absolute end. */
  refresh?: { scopes: string[]; familyExpiresAt: number };
  /** The nonce of the authorization request, for the ID token of a code exchange. */
  nonce?: string | null;
}

/**
 * The token response of a grant made for a person (code exchange, refresh):
 * an access token, a refresh token when asked, an ID token when `openid` is in
 * scope; and the grant's "last used" moves on.
 */
export async function personTokenResponse(
  ctx: AppContext,
  subject: TokenSubject & { user: User; familyId: string },
  options: PersonTokens,
): Promise<TokenResponse> {
  const access = mintAccessToken(ctx, subject);
  // Stored together, in one statement: one commit instead of one per token.
  const records: TokenRecord[] = access.record ? [access.record] : [];
  const response: TokenResponse = {
    access_token: access.token,
    token_type: 'Bearer',
    expires_in: access.expiresIn,
    scope: formatScope(subject.scopes),
  };
  if (options.refresh) {
    const refresh = mintRefreshToken(ctx, {
      ...subject,
      scopes: options.refresh.scopes,
      familyExpiresAt: options.refresh.familyExpiresAt,
    });
    records.push(refresh.record);
    response.refresh_token = refresh.token;
  }
  await ctx.store.tokens.saveAll(records);
  if (subject.scopes.includes('openid')) {
    response.id_token = issueIdToken(ctx, {
      ...subject,
      nonce: options.nonce ?? null,
      accessToken: access.token,
      withScopeClaims: true,
    });
  }
  if (subject.grantId) await ctx.store.grants.touch(subject.grantId, nowSeconds(ctx));
  return response;
}
