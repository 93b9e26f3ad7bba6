import { type AppContext, nowSeconds } from '../../context.js';
import { sha256 } from '../../lib/hash.js';
import type { Api, AuthorizationCode, Client, ConsumeResult, User } from '../../store/types.js';
import type { DpopProof } from '../dpop.js';
import { InvalidGrant } from '../errors.js';
import { param, requireParam } from '../params.js';
import { verifierMatches } from '../pkce.js';
import { grantedTarget, readTokenResource } from '../resource.js';
import { splitScope } from '../scopes.js';
import { completePersonTokens, mintPersonTokens } from './token-response.js';
import type { Grant } from './types.js';

/** RFC 6749 §4.1.3 with PKCE (RFC 7636) and the replay rules of RFC 9700 §4.5. */
export const authorizationCodeGrant: Grant = {
  grantType: 'authorization_code',
  parameters: ['code', 'redirect_uri', 'code_verifier', 'resource'],

  async handle(ctx: AppContext, client, params, _request, dpop) {
    const code = requireParam(params, 'code');
    const redirectUri = param(params, 'redirect_uri');
    const verifier = param(params, 'code_verifier');
    const resource = readTokenResource(params);
    const now = nowSeconds(ctx);

    // Read first, with its person: the tokens are made from it, then stored in the commit that
    // consumes it (below).
    const id = sha256(code);
    const found = code.length <= 512 ? await ctx.store.codes.findWithUser(id) : undefined;
    if (!found) throw new InvalidGrant('the authorization code is invalid or has expired');
    const stored = found.code;
    const standing = standingOf(stored, client.id, now);
    if (standing) return refuse(ctx, client.id, standing, now);

    // A refused exchange spends the code all the same: one try per code.
    let user: User;
    let api: Api | undefined;
    try {
      api = await grantedTarget(ctx, client, resource, stored.resources);
      checkRedirectUri(client, stored, redirectUri);
      checkVerifier(stored, verifier);
      checkDpopJkt(stored, dpop);
      // Revoking the grant or deleting the person deletes their codes, so a code that was
      // found is normally backed by both; the person is read for the ID token's claims.
      if (!found.user) throw new InvalidGrant('the person behind this code no longer exists');
      // Another instance may have issued the code from a session or consent it still had in
      // memory (sign-in-cache.ts) after it ended here: the database has the last word.
      if (!found.backed)
        throw new InvalidGrant('the sign-in or the consent behind this code has ended');
      user = found.user;
    } catch (refusal) {
      const spent = await ctx.store.codes.consume(id, now, client.id);
      if (spent.status !== 'consumed') return refuse(ctx, client.id, spent, now);
      throw refusal;
    }

    const subject = {
      client,
      user,
      scopes: splitScope(stored.scope),
      grantId: stored.grantId,
      familyId: stored.familyId,
      sessionId: stored.sessionId,
      authTime: stored.authTime,
      acr: stored.acr,
      amr: stored.amr,
      claims: stored.claims,
      jkt: dpop?.jkt ?? null,
      ...(api ? { api } : {}),
    };
    // RFC 9449 §5: a public client's refresh token is bound to its DPoP key; a confidential
    // client's is bound to its authentication already.
    const refreshJkt = client.type === 'public' ? (dpop?.jkt ?? null) : null;
    const options = {
      nonce: stored.nonce,
      ...(client.grantTypes.includes('refresh_token')
        ? {
            refresh: {
              ...refreshOf(ctx, stored, now),
              jkt: refreshJkt,
              resources: stored.resources,
            },
          }
        : {}),
    };
    const minted = mintPersonTokens(ctx, subject, options);
    // One commit: the code consumed, exactly once, and its tokens stored only if this request
    // consumed it. A concurrent exchange that loses finds them stored, and revokes them (below).
    const redeemed = await ctx.store.codes.redeem({
      id,
      clientId: client.id,
      now,
      tokens: minted.records,
    });
    if (redeemed.status !== 'consumed') return refuse(ctx, client.id, redeemed, now);
    return completePersonTokens(ctx, subject, minted, options);
  },
};

/** Why a code that was found cannot be exchanged by this client now, if it cannot. */
function standingOf(
  code: AuthorizationCode,
  clientId: string,
  now: number,
): Exclude<ConsumeResult, { status: 'consumed' }> | undefined {
  // Whether another client's code was used or has expired is none of this client's business.
  if (code.clientId !== clientId) return { status: 'other_client' };
  if (code.consumedAt !== null) return { status: 'reused', code };
  if (code.expiresAt <= now) return { status: 'expired' };
  return undefined;
}

/** The answer to a code this request may not exchange; a replay revokes what the code gave. */
async function refuse(
  ctx: AppContext,
  clientId: string,
  result: Exclude<ConsumeResult, { status: 'consumed' }>,
  now: number,
): Promise<never> {
  if (result.status === 'other_client')
    throw new InvalidGrant('the authorization code was issued to another client');
  if (result.status === 'reused') {
    // A code used twice may have been stolen: everything issued from it goes.
    const revoked = await ctx.store.tokens.revokeFamily(result.code.familyId, now);
    ctx.log.warn(
      { clientId, revoked },
      'authorization code replayed: tokens issued from it revoked',
    );
    throw new InvalidGrant('the authorization code has already been used');
  }
  throw new InvalidGrant('the authorization code is invalid or has expired');
}

/** The code remembers the redirect_uri exactly as the authorization request sent it ('' when omitted). */
function checkRedirectUri(
  client: Client,
  code: AuthorizationCode,
  redirectUri: string | undefined,
) {
  if (
    code.redirectUri !== ''
      ? redirectUri !== code.redirectUri
      : redirectUri !== undefined && !client.redirectUris.includes(redirectUri)
  ) {
    throw new InvalidGrant('redirect_uri does not match the one of the authorization request');
  }
}

function checkVerifier(code: AuthorizationCode, verifier: string | undefined) {
  if (code.codeChallenge !== null) {
    if (verifier === undefined)
      throw new InvalidGrant('code_verifier is required: the authorization request used PKCE');
    if (!verifierMatches(verifier, code.codeChallenge))
      throw new InvalidGrant('code_verifier does not match the code_challenge');
  } else if (verifier !== undefined) {
    // RFC 9700 §2.1.1: a verifier without a challenge is a PKCE downgrade attempt.
    throw new InvalidGrant(
      'code_verifier was sent but the authorization request had no code_challenge',
    );
  }
}

/** RFC 9449 §10: a code whose authorization request sent `dpop_jkt` goes only with a proof of that key. */
function checkDpopJkt(code: AuthorizationCode, dpop: DpopProof | undefined) {
  if (code.dpopJkt === null) return;
  if (!dpop) {
    throw new InvalidGrant(
      'the authorization request bound this code to a DPoP key (dpop_jkt): send a DPoP proof made with it',
    );
  }
  if (dpop.jkt !== code.dpopJkt) {
    throw new InvalidGrant(
      'the DPoP proof is made with another key than the dpop_jkt of the authorization request',
    );
  }
}

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
