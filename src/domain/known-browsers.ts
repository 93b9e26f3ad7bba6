import { type AppContext, nowSeconds } from '../context.js';
import { sha256 } from '../lib/hash.js';
import type { User } from '../store/types.js';
import { type EventOrigin, recordSecurityEvent } from './security-events.js';

/** How many browsers are remembered per person, the most recently used ones. */
export const BROWSERS_KEPT = 50;

/**
 * Remembers the browser `browserId` (its `tessera_browser` cookie) as one `user` signs in from.
 * A browser not seen before is a security event `new_device_sign_in` (audited and mailed),
 * unless the person had none remembered yet: their first sign-in (sign-up) is no news to them.
 * Only the SHA-256 of the id is kept, as for every other secret a browser holds.
 */
export async function noteSignInBrowser(
  ctx: AppContext,
  user: Pick<User, 'id' | 'email'>,
  browserId: string,
  origin: EventOrigin,
): Promise<void> {
  const seen = await ctx.store.browsers.see(
    user.id,
    sha256(browserId),
    nowSeconds(ctx),
    BROWSERS_KEPT,
  );
  if (seen === 'new') await recordSecurityEvent(ctx, user, 'new_device_sign_in', origin);
}
