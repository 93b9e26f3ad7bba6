import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Background } from '../../src/lib/background.js';
import { openMailer } from '../../src/mail/mailer.js';
import { captureLog } from '../helpers/log.js';
import { startSmtp, type TestSmtp } from '../helpers/smtp.js';

/*
 * The recipient goes to nodemailer as one address, never as a string it would parse: an address
 * stored before the strict rule (users.ts), or any string, cannot become a display name and
 * another address, or a list.
 */
describe('mail recipients', () => {
  let smtp: TestSmtp;
  beforeAll(async () => {
    smtp = await startSmtp();
  });
  afterAll(async () => smtp?.close());

  it('sends each mail to exactly the stored address: never to an address hidden in it', async () => {
    const log = captureLog('info');
    const mail = openMailer({
      smtpUrl: smtp.url,
      from: 'Tessera <no-reply@localhost>',
      siteName: 'Tessera',
      issuer: 'http://localhost:9000',
      now: () => 0,
      log: log.logger,
      background: new Background(log.logger),
      retryWaits: [10],
    });
    const hostile = [
      'victim.corp.com<evil@x.y>',
      'Victim <evil@x.y>',
      'x@example.com,evil@x.y',
      'x@example.com; evil@x.y',
    ];
    for (const to of hostile) mail.send(to, 'otp-code', { code: '123456', minutes: 10 });
    mail.send('alice@example.com', 'otp-code', { code: '654321', minutes: 10 });
    await mail.drain();
    await mail.close();
    const recipients = smtp.mails.flatMap((m) => m.rcptTo);
    expect(recipients).toContain('alice@example.com');
    expect(recipients).not.toContain('evil@x.y');
    for (const m of smtp.mails) expect(m.rcptTo).toHaveLength(1);
  });
});
