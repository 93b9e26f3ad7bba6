import { type AppContext, nowSeconds } from '../context.js';
import type { User } from '../store/types.js';

/** What changed an account's security; each is mailed to the person and written to the audit log. */
export type SecurityEventType =
  | 'new_device_sign_in'
  | 'password_changed'
  | 'password_reset'
  | 'email_changed'
  | 'two_factor_enabled'
  | 'two_factor_disabled'
  | 'recovery_codes_regenerated'
  | 'passkey_added'
  | 'passkey_removed';

/** What a security notice mail says. */
export interface SecurityNotice {
  event: SecurityEventType;
  /** Seconds since the epoch. */
  at: number;
  ip: string | null;
  /** The browser and system, as read from the User-Agent ("Firefox on Linux"); null if unknown. */
  device: string | null;
  /** A name the event concerns (a passkey's name), shown as written. */
  subject?: string;
}

/** Where the change came from. */
export interface EventOrigin {
  ip: string | null;
  device: string | null;
}

/**
 * Records a change to the account's security: an audit event `security.<type>` (listed on the
 * account page) and a notice mailed to the person's address.
 */
export async function recordSecurityEvent(
  ctx: AppContext,
  user: Pick<User, 'id' | 'email'>,
  event: SecurityEventType,
  origin: EventOrigin,
  details: { subject?: string } & Record<string, unknown> = {},
): Promise<void> {
  const at = nowSeconds(ctx);
  await ctx.store.audit.record({
    type: `security.${event}`,
    userId: user.id,
    clientId: null,
    ip: origin.ip,
    details: { ...details, device: origin.device },
    createdAt: at,
  });
  ctx.mail.send(user.email, 'security-notice', {
    event,
    at,
    ip: origin.ip,
    device: origin.device,
    ...(typeof details.subject === 'string' ? { subject: details.subject } : {}),
  });
}
