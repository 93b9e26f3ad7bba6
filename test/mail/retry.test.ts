import type { AddressInfo } from 'node:net';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { afterEach, describe, expect, it } from 'vitest';
import { Background } from '../../src/lib/background.js';
import { openMailer, RETRY_WAITS } from '../../src/mail/mailer.js';
import { captureLog } from '../helpers/log.js';

/** A real SMTP server that refuses the first `refusals` deliveries (451, try later), then accepts. */
async function flakySmtp(refusals: number) {
  const received: { to: string; text: string }[] = [];
  let refused = 0;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      simpleParser(stream).then((parsed) => {
        if (refused < refusals) {
          refused += 1;
          const error = Object.assign(new Error('try again later'), { responseCode: 451 });
          return callback(error);
        }
        received.push({ to: session.envelope.rcptTo[0]?.address ?? '', text: parsed.text ?? '' });
        callback();
      }, callback);
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as AddressInfo;
  return {
    url: `smtp://127.0.0.1:${port}`,
    received,
    refusedCount: () => refused,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('mail retries', () => {
  const closing: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const close of closing.splice(0)) await close();
  });

  function mailer(smtpUrl: string, options: { waits?: number[]; background?: Background } = {}) {
    const log = captureLog('info');
    const background = options.background ?? new Background(log.logger);
    const mail = openMailer({
      smtpUrl,
      from: 'Tessera <no-reply@localhost>',
      siteName: 'Tessera',
      issuer: 'http://localhost:9000',
      now: () => 0,
      log: log.logger,
      background,
      retryWaits: options.waits ?? [10, 10, 10],
    });
    closing.push(() => mail.close());
    return { mail, log, background };
  }

  it('tries a refused mail again: it arrives, and the log shows the retry without the code', async () => {
    const smtp = await flakySmtp(1);
    closing.push(smtp.close);
    const { mail, log, background } = mailer(smtp.url);
    mail.send('ada@example.com', 'otp-code', { code: '987654', minutes: 10 });
    await mail.drain();
    expect(smtp.received).toEqual([
      { to: 'ada@example.com', text: expect.stringContaining('987654') },
    ]);
    const warnings = log.lines.filter((l) => l.level === 40);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({
      msg: 'mail could not be sent: retrying',
      kind: 'otp-code',
      to: 'ada@example.com',
      attempt: 1,
      retryInMs: 10,
      err: { message: expect.stringContaining('try again later') },
    });
    expect(JSON.stringify(log.lines)).not.toContain('987654');
    // The wait was a timer's, not the queue's: nothing is left in the background.
    await background.drain();
  });

  it('gives up after one try more than the waits (4 by default, over about a minute), and drain still resolves', async () => {
    const smtp = await flakySmtp(100);
    closing.push(smtp.close);
    const { mail, log } = mailer(smtp.url);
    mail.send('bob@example.com', 'sign-in-code', { code: '123123', minutes: 10 });
    await mail.drain();
    expect(smtp.refusedCount()).toBe(4);
    expect(RETRY_WAITS).toHaveLength(3);
    expect(RETRY_WAITS.reduce((a, b) => a + b)).toBe(60_000);
    expect(smtp.received).toEqual([]);
    const messages = log.lines.filter((l) => l.level === 40).map((l) => l.msg);
    expect(messages).toEqual([
      'mail could not be sent: retrying',
      'mail could not be sent: retrying',
      'mail could not be sent: retrying',
      'mail could not be sent: given up',
    ]);
  });

  it('drain resolves when the background queue dropped the mail', async () => {
    const log = captureLog('info');
    const full = new Background(log.logger, 1, 0);
    const { mail } = mailer('smtp://127.0.0.1:9', { background: full });
    mail.send('cy@example.com', 'otp-code', { code: '000000', minutes: 10 });
    await mail.drain();
    expect(log.lines.map((l) => l.msg)).toContain('background queue full: work dropped');
  });

  it('close gives up the retries still waiting, so shutting down never waits a minute', async () => {
    const smtp = await flakySmtp(100);
    closing.push(smtp.close);
    const { mail, log } = mailer(smtp.url, { waits: [60_000] });
    mail.send('dee@example.com', 'otp-code', { code: '555555', minutes: 10 });
    await log.next((l) => l.msg === 'mail could not be sent: retrying');
    const drained = mail.drain();
    await mail.close();
    await drained;
    expect(log.lines.map((l) => l.msg)).toContain('mail not sent: shutting down');
    expect(smtp.refusedCount()).toBe(1);
  });
});
