import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SecurityEventType } from '../../src/domain/security-events.js';
import { SECURITY_EVENT_WORDS } from '../../src/domain/security-words.js';
import { type RunningServer, startServer } from '../helpers/app.js';
import { startSmtp, type TestSmtp } from '../helpers/smtp.js';

const AT = Date.UTC(2026, 11, 4, 22, 30, 15) / 1000;

describe('mail templates, received over SMTP', () => {
  let smtp: TestSmtp;
  let server: RunningServer;
  const send: RunningServer['app']['tessera']['mail']['send'] = (...args) =>
    server.app.tessera.mail.send(...args);
  beforeAll(async () => {
    smtp = await startSmtp();
    server = await startServer({
      env: {
        TESSERA_SMTP_URL: smtp.url,
        TESSERA_SITE_NAME: 'Example ID',
        TESSERA_MAIL_FROM: 'Example ID <id@example.com>',
      },
    });
  });
  afterAll(async () => {
    await server?.close();
    await smtp?.close();
  });

  it('verify-email: the account, the code, the link and the minutes, in both bodies, under the site name', async () => {
    const link = `${server.url}/verify?token=abc&x=1`;
    send('v@example.com', 'verify-email', { username: 'vera', code: '314159', link, minutes: 15 });
    const mail = await smtp.next('v@example.com');
    expect(mail.subject).toBe('Example ID: Confirm your e-mail address');
    expect(mail.from).toBe('"Example ID" <id@example.com>');
    expect(mail.text).toContain('314159');
    expect(mail.text).toContain(link);
    expect(mail.text).toContain('15 minutes');
    expect(mail.text).toContain('for the account vera on');
    expect(mail.html).toContain('the account <strong>vera</strong>');
    expect(mail.html).toContain('314159');
    // An attribute escapes the "&" of the link; the mail client follows the same URL.
    expect(mail.html).toContain(`href="${link.replace('&', '&amp;')}"`);
    expect(mail.html).toContain('Example ID');
  });

  it('sign-in-code and otp-code: the code in the subject and bodies, with its lifetime', async () => {
    send('c@example.com', 'sign-in-code', { code: '271828', minutes: 10 });
    const signIn = await smtp.next('c@example.com');
    expect(signIn.subject).toBe('Example ID: Your sign-in code: 271828');
    expect(signIn.text).toMatch(/sign in to Example ID: 271828/);
    expect(signIn.text).toContain('10 minutes');
    expect(signIn.html).toContain('271828');

    send('c@example.com', 'otp-code', { code: '161803', minutes: 10 });
    const otp = await smtp.next('c@example.com');
    expect(otp.subject).toBe('Example ID: Your code: 161803');
    expect(otp.text).toContain('Your Example ID code: 161803');
    expect(otp.html).toContain('161803');
  });

  it('password-reset: the link and its lifetime, and nothing changes if ignored', async () => {
    const link = `${server.url}/reset?token=xyz`;
    send('r@example.com', 'password-reset', { link, minutes: 30 });
    const mail = await smtp.next('r@example.com');
    expect(mail.subject).toBe('Example ID: Reset your password');
    expect(mail.text).toContain(link);
    expect(mail.text).toContain('30 minutes');
    expect(mail.text).toContain('your password stays as it is');
    expect(mail.html).toContain(`href="${link}"`);
  });

  it.each(Object.keys(SECURITY_EVENT_WORDS) as SecurityEventType[])(
    'security-notice %s: its own wording, when (UTC), device, address, and what to do if it was not you',
    async (event) => {
      const to = `${event}@example.com`;
      send(to, 'security-notice', { event, at: AT, ip: '203.0.113.7', device: 'Firefox on Linux' });
      const mail = await smtp.next(to);
      expect(mail.subject).toBe(`Example ID: ${SECURITY_EVENT_WORDS[event].title}`);
      for (const body of [mail.text, mail.html]) {
        expect(body).toContain('2026-12-04 22:30 UTC');
        expect(body).toContain('Firefox on Linux');
        expect(body).toContain('203.0.113.7');
        expect(body).toMatch(/If this wasn(’|'|&#39;)t you/);
        expect(body).toContain('contact your administrator');
      }
      expect(mail.text).toContain(`${server.url}/account`);
      expect(mail.html).toContain(`href="${server.url}/account"`);
    },
  );

  it('words each event differently', () => {
    const sentences = Object.values(SECURITY_EVENT_WORDS).map((w) => w.sentence);
    const titles = Object.values(SECURITY_EVENT_WORDS).map((w) => w.title);
    expect(new Set(sentences).size).toBe(sentences.length);
    expect(new Set(titles).size).toBe(titles.length);
  });

  it("escapes the HTML body: a passkey's name is text, never markup; plain text keeps it as written", async () => {
    send('x@example.com', 'security-notice', {
      event: 'passkey_added',
      at: AT,
      ip: null,
      device: null,
      subject: '<script>alert(1)</script>',
    });
    const mail = await smtp.next('x@example.com');
    expect(mail.html).not.toContain('<script>');
    expect(mail.html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(mail.text).toContain('A passkey named “<script>alert(1)</script>” was added');
    expect(mail.text).toContain('Device: unknown\nAddress: unknown');
  });
});
