import type { Mail } from '../domain/mail.js';

/** A mail ready to send. */
export interface Rendered {
  subject: string;
  text: string;
  html: string;
}

const escapeHtml = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

// TODO: templates with the issuer's name (helper "mail" replaces this with src/mail/templates).
export function renderMail(mail: Mail, siteName: string): Rendered {
  const text = JSON.stringify(mail.data, null, 2);
  return {
    subject: `${siteName}: ${mail.kind}`,
    text,
    html: `<pre>${escapeHtml(text)}</pre>`,
  };
}
