import { type AppContext, nowSeconds } from '../../context.js';
import { sha256 } from '../../lib/hash.js';
import { InvalidGrant, InvalidScope } from '../errors.js';
import { param, requireParam } from '../params.js';
import { covers, parseScope, splitScope } from '../scopes.js';
import { personTokenResponse } from './token-response.js';
import type { Grant } from './types.js';

/**
 * RFC 6749 §6 with rotation (RFC 9700 §4.14.2): every use returns a new refresh
 * token; presenting a rotated one again revokes its whole family, unless the
 * same client retries within the configured grace window.
 */
export const refreshTokenGrant: Grant = {
  grantType: 'refresh_token',
  parameters: ['refresh_token', 'scope'],

  async handle(ctx: AppContext, client, params) {
    const presented = requireParam(params, 'refresh_token');
    const requestedScope = param(params, 'scope');
    const now = nowSeconds(ctx);
    const id = sha256(presented);

    const lookup = presented.length <= 512 ? await ctx.store.tokens.findWithUser(id) : undefined;
    const found = lookup?.token;
    if (found?.kind !== 'refresh') throw new InvalidGrant('the refresh token is invalid');
    if (found.clientId !== client.id)
      throw new InvalidGrant('the refresh token was issued to another client');
    if (found.revokedAt !== null) throw new InvalidGrant('the refresh token has been revoked');
    if (found.expiresAt <= now) throw new InvalidGrant('the refresh token has expired');

    // Checked before rotating: a refused request must not spend the client's refresh token.
    const granted = splitScope(found.scope);
    let scopes = granted;
    if (requestedScope !== undefined) {
      scopes = parseScope(requestedScope);
      if (!covers(granted, scopes)) {
        throw new InvalidScope('the requested scope is wider than the one originally granted');
      }
    }

    const rotation = await ctx.store.tokens.rotate(id, now);
    if (rotation.status === 'missing') throw new InvalidGrant('the refresh token is invalid');
    if (rotation.status === 'stale') {
      const { token } = rotation;
      const grace = ctx.config.refreshGrace;
      const benignRetry =
        token.revokedAt === null &&
        token.rotatedAt !== null &&
        grace > 0 &&
        now - token.rotatedAt <= grace;
      if (!benignRetry) {
        const revoked = await ctx.store.tokens.revokeFamily(token.familyId!, now);
        ctx.log.warn(
          { clientId: client.id, revoked },
          'rotated refresh token reused: its family was revoked',
        );
        throw new InvalidGrant('the refresh token has already been used');
      }
    }
    const token = rotation.token;

    // A deleted person takes their tokens with them, and a revoked grant revokes its tokens,
    // so a token that rotated is still backed by both; the person was read with the token.
    const user = lookup?.user;
    if (!user) throw new InvalidGrant('the person behind this refresh token no longer exists');

    const subject = {
      client,
      user,
      scopes,
      grantId: token.grantId ?? undefined,
      familyId: token.familyId!,
      sessionId: token.sessionId,
      authTime: token.authTime ?? undefined,
      acr: token.acr,
      amr: token.amr,
      claims: token.claims,
    };
    return personTokenResponse(ctx, subject, {
      // The new refresh token keeps the originally granted scope: a narrower request now
      // does not narrow later ones.
      refresh: { scopes: granted, familyExpiresAt: token.familyExpiresAt ?? token.expiresAt },
    });
  },
};
