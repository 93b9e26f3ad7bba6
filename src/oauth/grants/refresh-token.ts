import { type AppContext, nowSeconds } from '../../context.js';
import { scopesForClient } from '../../domain/apis.js';
import { sha256 } from '../../lib/hash.js';
import type { TokenRecord } from '../../store/types.js';
import { InvalidDpopProof, InvalidGrant, InvalidScope } from '../errors.js';
import { param, requireParam } from '../params.js';
import { grantedTarget, readTokenResource } from '../resource.js';
import { covers, parseScope, splitScope } from '../scopes.js';
import { completePersonTokens, mintPersonTokens } from './token-response.js';
import type { Grant } from './types.js';

/**
 * RFC 6749 §6 with rotation (RFC 9700 §4.14.2): every use returns a new refresh
 * token; presenting a rotated one again revokes its whole family, unless the
 * same client retries within the configured grace window.
 */
export const refreshTokenGrant: Grant = {
  grantType: 'refresh_token',
  parameters: ['refresh_token', 'scope', 'resource'],

  async handle(ctx: AppContext, client, params, _request, dpop) {
    const presented = requireParam(params, 'refresh_token');
    const requestedScope = param(params, 'scope');
    const resource = readTokenResource(params);
    const now = nowSeconds(ctx);
    const id = sha256(presented);

    const lookup = presented.length <= 512 ? await ctx.store.tokens.findWithUser(id) : undefined;
    const found = lookup?.token;
    if (found?.kind !== 'refresh') throw new InvalidGrant('the refresh token is invalid');
    if (found.clientId !== client.id)
      throw new InvalidGrant('the refresh token was issued to another client');
    if (found.revokedAt !== null) throw new InvalidGrant('the refresh token has been revoked');
    if (found.expiresAt <= now) throw new InvalidGrant('the refresh token has expired');
    // RFC 9449 §5: a refresh token bound to a DPoP key (a public client's) goes only with a proof
    // of that key, checked before anything is spent.
    if (found.jkt !== null) {
      if (!dpop) {
        throw new InvalidDpopProof(
          'this refresh token is bound to a DPoP key: send a DPoP proof made with it',
        );
      }
      if (dpop.jkt !== found.jkt)
        throw new InvalidGrant('the refresh token is bound to another DPoP key than the proof');
    }

    // Checked before rotating: a refused request must not spend the client's refresh token.
    // A scope taken from the client since the grant is not given again (the client policy, as at
    // /authorize); the successor carries only what is still allowed.
    const allowed = await scopesForClient(ctx, client);
    const granted = splitScope(found.scope).filter((s) => allowed.includes(s));
    let scopes = granted;
    if (requestedScope !== undefined) {
      scopes = parseScope(requestedScope);
      if (!covers(granted, scopes)) {
        throw new InvalidScope('the requested scope is wider than the one originally granted');
      }
    }

    // RFC 8707 §2.2: one of the resources the authorization granted (kept in the refresh token's
    // audience), never another: a refresh narrows to one API, never widens to a new one.
    const resources = found.audience ? found.audience.split(' ') : [];
    const api = await grantedTarget(ctx, client, resource, resources);

    // Reuse is known without spending anything on successors; a concurrent reuse is caught below.
    if (found.rotatedAt !== null && !benignRetry(ctx, found, now)) {
      await reused(ctx, client.id, found.familyId!, now);
    }

    // A deleted person takes their tokens with them, and a revoked grant revokes its tokens;
    // the person was read with the token.
    const user = lookup?.user;
    if (!user) throw new InvalidGrant('the person behind this refresh token no longer exists');
    const familyId = found.familyId!;
    const subject = {
      client,
      user,
      scopes,
      grantId: found.grantId ?? undefined,
      familyId,
      sessionId: found.sessionId,
      authTime: found.authTime ?? undefined,
      acr: found.acr,
      amr: found.amr,
      claims: found.claims,
      jkt: dpop?.jkt ?? null,
      ...(api ? { api } : {}),
    };
    // The new refresh token keeps the originally granted scope: a narrower request now does
    // not narrow later ones.
    const options = {
      refresh: {
        scopes: granted,
        familyExpiresAt: found.familyExpiresAt ?? found.expiresAt,
        // The successor belongs to the session its predecessor belonged to (none when offline).
        sessionId: found.sessionId,
        // Bound as its predecessor was; a public client's token first refreshed with a proof is
        // bound from then on.
        jkt: found.jkt ?? (client.type === 'public' ? (dpop?.jkt ?? null) : null),
        // Every granted resource stays on the successor, as the granted scope does.
        resources,
      },
    };

    // The successors are stored in the commit that spends the presented token, in its family: a
    // failed write spends nothing, and a reuse detected by a concurrent request (below) finds
    // the winner's successors stored and revokes them too, whichever request won.
    const minted = mintPersonTokens(ctx, subject, options);
    const rotation = await ctx.store.tokens.rotate({ id, successors: minted.records, now });
    if (rotation.status === 'missing') {
      await ctx.store.tokens.revokeFamily(familyId, now);
      throw new InvalidGrant('the refresh token is invalid');
    }
    if (rotation.status === 'stale' && !benignRetry(ctx, rotation.token, now)) {
      await reused(ctx, client.id, familyId, now);
    }
    return completePersonTokens(ctx, subject, minted, options);
  },
};

/** A rotated token presented again by the same client within the grace window (off by default). */
function benignRetry(ctx: AppContext, token: TokenRecord, now: number): boolean {
  const grace = ctx.config.refreshGrace;
  return (
    token.revokedAt === null &&
    token.rotatedAt !== null &&
    grace > 0 &&
    now - token.rotatedAt <= grace
  );
}

/** RFC 9700 §4.14.2: a spent refresh token came back, so its whole family is revoked. */
async function reused(
  ctx: AppContext,
  clientId: string,
  familyId: string,
  now: number,
): Promise<never> {
  const revoked = await ctx.store.tokens.revokeFamily(familyId, now);
  ctx.log.warn({ clientId, revoked }, 'rotated refresh token reused: its family was revoked');
  throw new InvalidGrant('the refresh token has already been used');
}
