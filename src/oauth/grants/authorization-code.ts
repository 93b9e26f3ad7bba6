import { type AppContext, nowSeconds } from '../../context.js';
import { sha256 } from '../../lib/hash.js';
import type { AuthorizationCode } from '../../store/types.js';
import { InvalidGrant } from '../errors.js';
import { param, requireParam } from '../params.js';
import { verifierMatches } from '../pkce.js';
import { splitScope } from '../scopes.js';
import { personTokenResponse } from './token-response.js';
import type { Grant } from './types.js';

/** RFC 6749 §4.1.3 with PKCE (RFC 7636) and the replay rules of RFC 9700 §4.5. */
export const authorizationCodeGrant: Grant = {
  grantType: 'authorization_code',
  parameters: ['code', 'redirect_uri', 'code_verifier'],

  async handle(ctx: AppContext, client, params) {
    const code = requireParam(params, 'code');
    const redirectUri = param(params, 'redirect_uri');
    const verifier = param(params, 'code_verifier');
    const now = nowSeconds(ctx);

    // Consumed only by the client it was issued to: another client's attempt spends nothing.
    const result =
      code.length <= 512
        ? await ctx.store.codes.consume(sha256(code), now, client.id)
        : { status: 'missing' as const };
    if (result.status === 'other_client')
      throw new InvalidGrant('the authorization code was issued to another client');
    if (result.status === 'reused') {
      // A code used twice may have been stolen: everything issued from it goes.
      const revoked = await ctx.store.tokens.revokeFamily(result.code.familyId, now);
      ctx.log.warn(
        { clientId: client.id, revoked },
        'authorization code replayed: tokens issued from it revoked',
      );
      throw new InvalidGrant('the authorization code has already been used');
    }
    if (result.status !== 'consumed')
      throw new InvalidGrant('the authorization code is invalid or has expired');
    const stored = result.code;
    // The code remembers the redirect_uri exactly as the authorization request sent it ('' when omitted).
    if (
      stored.redirectUri !== ''
        ? redirectUri !== stored.redirectUri
        : redirectUri !== undefined && !client.redirectUris.includes(redirectUri)
    ) {
      throw new InvalidGrant('redirect_uri does not match the one of the authorization request');
    }
    if (stored.codeChallenge !== null) {
      if (verifier === undefined)
        throw new InvalidGrant('code_verifier is required: the authorization request used PKCE');
      if (!verifierMatches(verifier, stored.codeChallenge))
        throw new InvalidGrant('code_verifier does not match the code_challenge');
    } else if (verifier !== undefined) {
      // RFC 9700 §2.1.1: a verifier without a challenge is a PKCE downgrade attempt.
      throw new InvalidGrant(
        'code_verifier was sent but the authorization request had no code_challenge',
      );
    }

    // Revoking the grant or deleting the person deletes their codes, so a code that was
    // consumed is still backed by both; the person is read for the ID token's claims.
    const user = await ctx.store.users.findById(stored.userId);
    if (!user) throw new InvalidGrant('the person behind this code no longer exists');

    const scopes = splitScope(stored.scope);
    const subject = {
      client,
      user,
      scopes,
      grantId: stored.grantId,
      familyId: stored.familyId,
      sessionId: stored.sessionId,
      authTime: stored.authTime,
      acr: stored.acr,
      amr: stored.amr,
      claims: stored.claims,
    };
    return personTokenResponse(ctx, subject, {
      nonce: stored.nonce,
      ...(client.grantTypes.includes('refresh_token')
        ? { refresh: refreshOf(ctx, stored, now) }
        : {}),
    });
  },
};

/**
 * The refresh token a code earns. With `offline_access` it belongs to no session and lives its
 * full lifetime (OpenID Connect Core §11); without, it belongs to the session the code was issued
 * in: it ends when the session ends (sign-out revokes it) or expires, whichever comes first.
 */
function refreshOf(ctx: AppContext, code: AuthorizationCode, now: number) {
  const scopes = splitScope(code.scope);
  const end = now + ctx.config.refreshTokenTtl;
  if (scopes.includes('offline_access') || code.sessionId === null) {
    return { scopes, familyExpiresAt: end, sessionId: null };
  }
  return {
    scopes,
    familyExpiresAt: Math.min(end, code.sessionExpiresAt ?? end),
    sessionId: code.sessionId,
  };
}
