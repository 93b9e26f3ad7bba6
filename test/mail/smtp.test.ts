import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, startServer } from '../helpers/app.js';
import { startSmtp, type TestSmtp } from '../helpers/smtp.js';

describe('mail over SMTP', () => {
  let smtp: TestSmtp;
  let server: RunningServer;
  beforeAll(async () => {
    smtp = await startSmtp();
    server = await startServer({ env: { TESSERA_SMTP_URL: smtp.url } });
  });
  afterAll(async () => {
    await server?.close();
    await smtp?.close();
  });

  it('delivers a queued mail to the SMTP server, from TESSERA_MAIL_FROM', async () => {
    const ctx = server.app.tessera;
    ctx.mail.send('alice@example.com', 'otp-code', { code: '123456', minutes: 10 });
    const mail = await smtp.next('alice@example.com');
    expect(mail.text).toContain('123456');
    expect(mail.from).toContain('no-reply@localhost');
  });
});
