import nodemailer from 'nodemailer';
import type { Mail, Mailer, MailKind, MailKinds } from '../domain/mail.js';
import type { Background } from '../lib/background.js';
import { renderMail } from './render.js';

interface Logger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface MailerOptions {
  smtpUrl: string | undefined;
  from: string;
  siteName: string;
  log: Logger;
  background: Background;
}

/** Tries before a mail is given up on, and the wait before each retry, in ms. */
const RETRIES = [1_000, 5_000, 30_000];

/**
 * Mail over SMTP (nodemailer) when TESSERA_SMTP_URL is set; otherwise logged (the development
 * outbox). Sending runs in the background queue, so no request waits for it.
 */
export function openMailer(options: MailerOptions): Mailer {
  const transport = options.smtpUrl ? nodemailer.createTransport(options.smtpUrl) : undefined;
  const pending = new Set<Promise<void>>();

  async function deliver(mail: Mail): Promise<void> {
    const rendered = renderMail(mail, options.siteName);
    if (!transport) {
      options.log.info({ to: mail.to, kind: mail.kind }, 'mail kept in the development outbox');
      return;
    }
    for (let attempt = 0; ; attempt++) {
      try {
        await transport.sendMail({ from: options.from, to: mail.to, ...rendered });
        return;
      } catch (error) {
        const wait = RETRIES[attempt];
        options.log.warn(
          { err: error, kind: mail.kind, attempt: attempt + 1, retryIn: wait ?? null },
          wait === undefined ? 'mail could not be sent: given up' : 'mail could not be sent',
        );
        if (wait === undefined) return;
        await new Promise((resolve) => setTimeout(resolve, wait).unref());
      }
    }
  }

  return {
    send<K extends MailKind>(to: string, kind: K, data: MailKinds[K]): void {
      const done = new Promise<void>((resolve) => {
        options.background.run(`mail:${kind}`, () => deliver({ to, kind, data }).finally(resolve));
      });
      pending.add(done);
      void done.finally(() => pending.delete(done));
    },
    async drain() {
      await Promise.all([...pending]);
    },
    async close() {
      transport?.close();
    },
  };
}
