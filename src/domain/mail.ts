import type { SecurityNotice } from './security-events.js';

/**
 * The mails Tessera sends, each with what its template needs. Templates (src/mail/) add the
 * issuer's name and build every link from the issuer; the domain passes only these values.
 */
export interface MailKinds {
  /** A new or changed address to confirm: a 6-digit code and a link that does the same. */
  'verify-email': { username: string; code: string; link: string; minutes: number };
  /** "E-mail me a code" on the sign-in page. */
  'sign-in-code': { code: string; minutes: number };
  /** A one-time code asked for through the JSON API (POST /api/otp/send). */
  'otp-code': { code: string; minutes: number };
  /** "Forgot password?": a single-use link. */
  'password-reset': { link: string; minutes: number };
  /** Something changed the account's security: sent to the person, also written to the audit log. */
  'security-notice': SecurityNotice;
}

export type MailKind = keyof MailKinds;

/** A mail on its way: to whom, which template, and the template's values. */
export interface Mail<K extends MailKind = MailKind> {
  to: string;
  kind: K;
  data: MailKinds[K];
}

/**
 * Sends mail without holding up the request that asked for it: `send` queues and returns at
 * once; a failed send is retried and logged. Without SMTP (outside production) mail goes to the
 * development outbox instead.
 */
export interface Mailer {
  send<K extends MailKind>(to: string, kind: K, data: MailKinds[K]): void;
  /** Waits for the mails queued so far (sent, or given up on). */
  drain(): Promise<void>;
  close(): Promise<void>;
}
