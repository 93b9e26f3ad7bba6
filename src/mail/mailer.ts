import nodemailer from 'nodemailer';
import type { Mail, Mailer, MailKind, MailKinds } from '../domain/mail.js';
import type { Background } from '../lib/background.js';
import { randomId } from '../lib/random.js';
import type { MailOutboxStore } from '../store/types.js';
import { type MailSite, renderMail } from './render.js';

interface Logger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface MailerOptions extends MailSite {
  /** TESSERA_SMTP_URL; without it mail goes to `outbox`. */
  smtpUrl: string | undefined;
  from: string;
  /** The development outbox (no SMTP, not production); mail is only logged without either. */
  outbox?: MailOutboxStore;
  /** Seconds since the epoch, for the outbox. */
  now: () => number;
  log: Logger;
  background: Background;
  /** The wait before each retry of a failed send, in ms; one try more than waits. */
  retryWaits?: readonly number[];
}

/** Four tries over about a minute: an SMTP server that restarts or greylists is waited for. */
export const RETRY_WAITS = [5_000, 15_000, 40_000];

/** A mail on its way, with the try it is at and what to call once sent or given up on. */
interface Job {
  mail: Mail;
  attempt: number;
  done: () => void;
}

/**
 * Mail over SMTP (nodemailer) when TESSERA_SMTP_URL is set; otherwise kept in the development
 * outbox. Each try runs in the background queue, so no request waits for it; a failed one is
 * tried again after a wait held by a timer, not by the queue. Logs name the kind and recipient,
 * never the body (it holds codes and links).
 */
export function openMailer(options: MailerOptions): Mailer {
  const transport = options.smtpUrl ? nodemailer.createTransport(options.smtpUrl) : undefined;
  const waits = options.retryWaits ?? RETRY_WAITS;
  const pending = new Set<Promise<void>>();
  const timers = new Map<NodeJS.Timeout, Job>();
  let closed = false;

  async function keep(mail: Mail): Promise<void> {
    const rendered = renderMail(mail, options);
    if (!transport) {
      if (options.outbox) {
        await options.outbox.add({
          // Sorts by when it was kept, to the millisecond: the outbox lists newest first.
          id: `${String(Date.now()).padStart(15, '0')}-${randomId()}`,
          to: mail.to,
          kind: mail.kind,
          ...rendered,
          createdAt: options.now(),
        });
      }
      options.log.info(
        { to: mail.to, kind: mail.kind },
        `mail kept in the development outbox: open ${options.issuer}/dev/outbox`,
      );
      return;
    }
    // The recipient as an address object, never a string: nodemailer parses a string as a list
    // of "name <address>" entries, so `x,evil@x.y` or `a<evil@x.y>` would go to evil@x.y; the
    // envelope (RCPT TO) is made from this object too. From is the operator's setting, as set.
    const to = { name: '', address: mail.to };
    await transport.sendMail({ from: options.from, to, ...rendered });
  }

  async function attempt(job: Job): Promise<void> {
    try {
      await keep(job.mail);
      job.done();
    } catch (error) {
      const wait = closed ? undefined : waits[job.attempt];
      options.log.warn(
        {
          err: error,
          to: job.mail.to,
          kind: job.mail.kind,
          attempt: job.attempt + 1,
          retryInMs: wait ?? null,
        },
        wait === undefined
          ? 'mail could not be sent: given up'
          : 'mail could not be sent: retrying',
      );
      if (wait === undefined) {
        job.done();
        return;
      }
      const timer = setTimeout(() => {
        timers.delete(timer);
        schedule({ ...job, attempt: job.attempt + 1 });
      }, wait);
      timer.unref();
      timers.set(timer, job);
    }
  }

  function schedule(job: Job): void {
    const queued = options.background.run(`mail:${job.mail.kind}`, () => attempt(job));
    // A full queue dropped it (and said so): nobody waits for it any more.
    if (!queued) job.done();
  }

  return {
    send<K extends MailKind>(to: string, kind: K, data: MailKinds[K]): void {
      let done!: () => void;
      const finished = new Promise<void>((resolve) => {
        done = resolve;
      });
      pending.add(finished);
      void finished.then(() => pending.delete(finished));
      if (closed) {
        options.log.warn({ to, kind }, 'mail not sent: the mailer is closed');
        done();
        return;
      }
      schedule({ mail: { to, kind, data } as Mail, attempt: 0, done });
    },
    async drain() {
      while (pending.size > 0) await Promise.all([...pending]);
    },
    async close() {
      closed = true;
      // Retries still waiting are given up on: the process is going away.
      for (const [timer, job] of timers) {
        clearTimeout(timer);
        options.log.warn({ to: job.mail.to, kind: job.mail.kind }, 'mail not sent: shutting down');
        job.done();
      }
      timers.clear();
      transport?.close();
    },
  };
}
