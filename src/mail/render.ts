import { fileURLToPath } from 'node:url';
import { Eta } from 'eta';
import type { Mail, MailKind } from '../domain/mail.js';
import type { SecurityNotice } from '../domain/security-events.js';
import { SECURITY_EVENT_WORDS, securitySentence } from '../domain/security-words.js';

/** A mail ready to send. */
export interface Rendered {
  subject: string;
  text: string;
  html: string;
}

/** What every mail knows of the Tessera that sends it. */
export interface MailSite {
  /** TESSERA_SITE_NAME: in subjects, bodies and the header. */
  siteName: string;
  /** TESSERA_ISSUER: every link Tessera adds itself starts with it. */
  issuer: string;
}

const views = fileURLToPath(new URL('./templates', import.meta.url));
// Two engines over the same folder: HTML bodies escape every value, plain-text ones must not.
const html = new Eta({ views, autoEscape: true, autoTrim: false, cache: true });
const text = new Eta({ views, autoEscape: false, autoTrim: false, cache: true });

const SUBJECTS: { [K in MailKind]: (mail: Mail<K>) => string } = {
  'verify-email': () => 'Confirm your e-mail address',
  'sign-in-code': (mail) => `Your sign-in code: ${mail.data.code}`,
  'otp-code': (mail) => `Your code: ${mail.data.code}`,
  'password-reset': () => 'Reset your password',
  'security-notice': (mail) => SECURITY_EVENT_WORDS[mail.data.event].title,
};

/** Seconds since the epoch as "2026-12-04 22:30 UTC". */
export function formatUtc(seconds: number): string {
  return `${new Date(seconds * 1000).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** What a notice's template shows beyond the notice itself. */
function noticeData(notice: SecurityNotice) {
  return {
    title: SECURITY_EVENT_WORDS[notice.event].title,
    sentence: securitySentence(notice.event, notice.subject),
    when: formatUtc(notice.at),
    ip: notice.ip ?? 'unknown',
    device: notice.device ?? 'unknown',
  };
}

/**
 * A mail's subject (starting with the site's name), plain-text body and HTML body, from
 * `templates/<kind>.text.eta` and `templates/<kind>.html.eta`. Links the domain made (a
 * verification or reset link) come with the mail; the account page's is built from the issuer.
 */
export function renderMail(mail: Mail, site: MailSite): Rendered {
  const subject = (SUBJECTS[mail.kind] as (mail: Mail) => string)(mail);
  const data = {
    ...mail.data,
    ...(mail.kind === 'security-notice' ? noticeData(mail.data as SecurityNotice) : {}),
    siteName: site.siteName,
    accountUrl: `${site.issuer}/account`,
    subject,
  };
  return {
    subject: `${site.siteName}: ${subject}`,
    text: text.render(`./${mail.kind}.text.eta`, data),
    html: html.render(`./${mail.kind}.html.eta`, data),
  };
}
