import { createHmac } from 'node:crypto';
import type { AppContext } from '../context.js';
import { safeEqual } from '../lib/hash.js';

/**
 * DPoP server nonces (RFC 9449 §8, §9), stateless: a nonce is a time window and an HMAC of it
 * under the instance secret, so any instance sharing the secret can check one without storing
 * anything. A nonce is accepted in its own window and the next (60 to 120 seconds), and one window
 * early, for instances whose clocks differ a little.
 */
const WINDOW_SECONDS = 60;

function mac(secret: string, window: number): string {
  return createHmac('sha256', secret)
    .update(`tessera dpop nonce ${window}`)
    .digest('base64url')
    .slice(0, 22);
}

/** The nonce of the current window: what `DPoP-Nonce` carries. */
export function currentDpopNonce(ctx: Pick<AppContext, 'config'>, now: number): string {
  const window = Math.floor(now / WINDOW_SECONDS);
  return `${window.toString(36)}.${mac(ctx.config.secret, window)}`;
}

/** Whether `nonce` is one this server issued, and still current. */
export function isCurrentDpopNonce(
  ctx: Pick<AppContext, 'config'>,
  nonce: string,
  now: number,
): boolean {
  const match = /^([0-9a-z]{1,12})\.([A-Za-z0-9_-]{22})$/.exec(nonce);
  if (!match) return false;
  const window = Number.parseInt(match[1]!, 36);
  const current = Math.floor(now / WINDOW_SECONDS);
  if (window < current - 1 || window > current + 1) return false;
  return safeEqual(match[2]!, mac(ctx.config.secret, window));
}
