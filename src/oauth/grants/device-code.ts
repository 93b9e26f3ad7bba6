import { type AppContext, nowSeconds } from '../../context.js';
import { DEVICE_CODE_GRANT } from '../../domain/client-rules.js';
import { sha256 } from '../../lib/hash.js';
import { randomId } from '../../lib/random.js';
import type { Api, DeviceCode } from '../../store/types.js';
import type { DpopProof } from '../dpop.js';
import {
  AccessDenied,
  AuthorizationPending,
  ExpiredToken,
  InvalidGrant,
  SlowDown,
} from '../errors.js';
import { requireParam } from '../params.js';
import { grantedTarget, readTokenResource } from '../resource.js';
import { splitScope } from '../scopes.js';
import { completePersonTokens, mintPersonTokens } from './token-response.js';
import type { Grant } from './types.js';

/** RFC 8628 §3.5: what a device polling too soon must add to its interval, for good. */
const SLOW_DOWN_STEP = 5;

/**
 * RFC 8628 §3.4, §3.5: the device polls with its device code until the person has answered at
 * /device. Once allowed, it gets what the code flow would have given for the same scopes; a
 * device code works once, and only for the client it was issued to.
 */
export const deviceCodeGrant: Grant = {
  grantType: DEVICE_CODE_GRANT,
  parameters: ['device_code', 'resource'],
  enabled: (config) => config.deviceFlow,

  async handle(ctx: AppContext, client, params, _request, dpop) {
    const presented = requireParam(params, 'device_code');
    const resource = readTokenResource(params);
    const now = nowSeconds(ctx);
    const id = sha256(presented);
    const code = presented.length <= 512 ? await ctx.store.deviceCodes.find(id) : undefined;
    if (!code) throw new InvalidGrant('the device code is invalid');
    // Whether another client's code was answered or has expired is none of this client's business.
    if (code.clientId !== client.id)
      throw new InvalidGrant('the device code was issued to another client');
    if (code.consumedAt !== null) throw new InvalidGrant('the device code has already been used');
    if (code.expiresAt <= now) {
      throw new ExpiredToken(
        'the device code has expired: start again with a new device authorization request',
      );
    }
    await pace(ctx, code, now);
    if (code.status === 'pending') {
      throw new AuthorizationPending(
        'the person has not answered yet: poll again after the interval',
      );
    }
    if (code.status === 'denied') {
      const denied = new AccessDenied('the person denied the device authorization');
      denied.status = 400; // RFC 6749 §5.2, which RFC 8628 §3.5 extends: 400 at the token endpoint
      throw denied;
    }
    // Checked before the code is spent: a wrong resource leaves the device free to ask again.
    const api = await grantedTarget(ctx, client, resource, code.resources);
    return redeem(ctx, client, code, now, dpop, api);
  },
};

/**
 * Records this poll; a poll sooner than the interval after the previous one is answered with
 * slow_down, and the interval grows by 5 seconds for every later poll (RFC 8628 §3.5).
 */
async function pace(ctx: AppContext, code: DeviceCode, now: number): Promise<void> {
  const tooSoon = code.lastPolledAt !== null && now - code.lastPolledAt < code.interval;
  const interval = tooSoon ? code.interval + SLOW_DOWN_STEP : code.interval;
  const recorded = await ctx.store.deviceCodes.recordPoll(
    code.id,
    code.lastPolledAt,
    now,
    interval,
  );
  // Not recorded: another poll of the same code was recorded in between, so this one is too soon.
  if (tooSoon || !recorded) {
    throw new SlowDown(
      `polled too soon: wait at least ${recorded ? interval : code.interval} seconds between polls`,
    );
  }
}

/** An approved code's tokens, issued once: the code is spent in the commit that stores them. */
async function redeem(
  ctx: AppContext,
  client: Parameters<Grant['handle']>[1],
  code: DeviceCode,
  now: number,
  dpop: DpopProof | undefined,
  api: Api | undefined,
) {
  const user = code.userId ? await ctx.store.users.findById(code.userId) : undefined;
  if (!user) throw new InvalidGrant('the person who allowed this device no longer exists');
  const grant = code.grantId ? await ctx.store.grants.findById(code.grantId) : undefined;
  if (!grant) throw new InvalidGrant('the access this device was given has since been revoked');

  const scopes = splitScope(code.scope);
  const subject = {
    client,
    user,
    scopes,
    grantId: grant.id,
    familyId: randomId(),
    // The device is not the browser the person signed in with: its tokens belong to no session,
    // so signing out there does not sign the device out (revoking the app's access does).
    sessionId: null,
    authTime: code.authTime ?? undefined,
    acr: code.acr,
    amr: code.amr,
    claims: null,
    // RFC 9449: a device that polls with a DPoP proof gets tokens bound to its key, as at the
    // code exchange; a public client's refresh token too.
    jkt: dpop?.jkt ?? null,
    ...(api ? { api } : {}),
  };
  const options = client.grantTypes.includes('refresh_token')
    ? {
        refresh: {
          scopes,
          familyExpiresAt: now + ctx.config.refreshTokenTtl,
          sessionId: null,
          jkt: client.type === 'public' ? (dpop?.jkt ?? null) : null,
          resources: code.resources,
        },
      }
    : {};
  const minted = mintPersonTokens(ctx, subject, options);
  const spent = await ctx.store.deviceCodes.redeem({
    id: code.id,
    clientId: client.id,
    now,
    tokens: minted.records,
  });
  // A concurrent poll redeemed it first: this one answers as any later one does.
  if (!spent) throw new InvalidGrant('the device code has already been used');
  return completePersonTokens(ctx, subject, minted, options);
}
