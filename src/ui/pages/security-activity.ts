import type { AppContext } from '../../context.js';
import { isSecurityEventType, SECURITY_EVENT_WORDS } from '../../domain/security-words.js';
import type { AuditEvent } from '../../store/types.js';
import { formatTime } from './format-time.js';

/** How many events "Recent security activity" lists. */
export const ACTIVITY_LISTED = 20;

/**
 * The audit events the person sees as their security activity: every security event, their
 * sign-ins, and password changes recorded before security events existed.
 */
const ACTIVITY_TYPES = ['security.', 'user.login', 'user.password_changed'];

/** One line of "Recent security activity". */
export interface SecurityActivityView {
  /** In plain words, e.g. "Passkey added: “Work laptop”". */
  what: string;
  /** "2026-12-04 22:30 UTC". */
  when: string;
  /** "Firefox on Linux", when it was recorded. */
  device: string | null;
  ip: string | null;
}

const text = (value: unknown): string | null =>
  typeof value === 'string' && value !== '' ? value : null;

/** How a sign-in was made, from its `amr` (RFC 8176). */
function signInWords(amr: unknown): string {
  const methods = Array.isArray(amr) ? amr : [];
  const parts: string[] = [];
  if (methods.includes('pwd')) parts.push('a password');
  if (methods.includes('hwk') || methods.includes('swk')) parts.push('a passkey');
  if (methods.includes('otp')) parts.push('a one-time code');
  return parts.length > 0 ? `Signed in with ${parts.join(' and ')}` : 'Signed in';
}

/** What an event says, in the words of the notice mail. */
export function activityLine(event: AuditEvent): string {
  const details = event.details ?? {};
  if (event.type === 'user.login') return signInWords(details.amr);
  if (event.type === 'user.password_changed') return SECURITY_EVENT_WORDS.password_changed.title;
  const type = event.type.slice('security.'.length);
  const title = isSecurityEventType(type) ? SECURITY_EVENT_WORDS[type].title : type;
  const subject = text(details.subject);
  const by = details.by === 'admin' ? ' by an administrator' : '';
  return `${title}${by}${subject ? `: “${subject}”` : ''}`;
}

/** The person's last security events, newest first, for the account page. */
export async function securityActivity(
  ctx: AppContext,
  userId: string,
): Promise<SecurityActivityView[]> {
  const events = await ctx.store.audit.list({
    limit: ACTIVITY_LISTED,
    userId,
    types: ACTIVITY_TYPES,
  });
  return events.map((event) => ({
    what: activityLine(event),
    when: formatTime(event.createdAt),
    device: text(event.details?.device),
    ip: event.ip,
  }));
}
