import { describe, expect, it } from 'vitest';
import { Browser, type Page } from '../helpers/browser.js';
import { enrolTotp, recoveryCodesOf, secretOf, totpCode, totpFixture } from '../helpers/totp.js';

/**
 * Issue 14 point 5: an authenticator app (TOTP, RFC 6238) as the second factor, over real HTTP:
 * setting it up, turning it off, recovery codes. Signing in with it: totp-sign-in.test.ts.
 */
describe('two-factor authentication with an authenticator app: the account page', () => {
  const f = totpFixture();
  const { clock, person, enrolled, secondStep, auditTypes } = f;
  const ctx = () => f.ctx();

  describe('setting it up from the account page', () => {
    it('shows a QR code, the key as text and the otpauth URI, and turns on with a right first code', async () => {
      const { user, browser } = await person();
      const account = await browser.get('/account');
      expect(account.text).toContain('Two-factor authentication');
      expect(account.text).toContain('>Set up an authenticator app</a>');

      const setup = await browser.get('/account/two-factor');
      expect(setup.status).toBe(200);
      expect(setup.text).toMatch(/<svg role="img" aria-label="QR code for your authenticator app"/);
      const secret = secretOf(setup);
      expect(secret).toMatch(/^[A-Z2-7]{32}$/);
      const uri = new URL(
        /<code id="totp-uri">([^<]+)<\/code>/.exec(setup.text)![1]!.replace(/&amp;/g, '&'),
      );
      expect(uri.protocol).toBe('otpauth:');
      expect(uri.searchParams.get('secret')).toBe(secret);
      expect(uri.searchParams.get('issuer')).toBe('Tessera');
      expect(uri.host).toBe('totp');
      expect(decodeURIComponent(uri.pathname)).toBe(`/Tessera:${user.email}`);
      // The secret travels sealed in the form, never in a URL.
      expect(setup.text).toMatch(/<form method="post" action="\/account\/two-factor">/);
      expect(setup.text).not.toMatch(new RegExp(`name="enrolment" value="[^"]*${secret}`));

      const wrong = await browser.submit(setup, { Code: '000000' }, 'Turn on');
      expect(wrong.status).toBe(401);
      expect(wrong.text).toContain('That code is not right');
      expect(secretOf(wrong)).toBe(secret);
      expect(await ctx().store.totp.find(user.id)).toBeUndefined();
      expect((await ctx().store.users.findById(user.id))?.twoFactor).toBe(false);

      const on = await browser.submit(wrong, { Code: await totpCode(secret, clock) }, 'Turn on');
      expect(on.status).toBe(200);
      expect(on.text).toContain('Save these recovery codes');
      const codes = recoveryCodesOf(on);
      expect(codes).toHaveLength(10);
      expect(new Set(codes).size).toBe(10);
      expect(on.headers.get('cache-control')).toBe('no-store');

      expect((await ctx().store.users.findById(user.id))?.twoFactor).toBe(true);
      expect(await auditTypes(user.id)).toContain('security.two_factor_enabled');
      expect((await f.smtp.next(user.email)).to).toContain(user.email.toLowerCase());

      // Shown once: the account page gives the count, not the codes.
      const after = await browser.get('/account');
      expect(after.text).toContain('10 of 10 recovery codes left');
      expect(recoveryCodesOf(after)).toEqual([]);
      for (const code of codes) expect(after.text).not.toContain(code);
      const again = await browser.get('/account/two-factor');
      expect(again.status).toBe(303);
      expect(again.location).toMatch(/\/account\?notice=two-factor-on$/);
    });

    it('refuses a set-up that was altered, is someone else’s or expired, offering a new key', async () => {
      const { browser } = await person();
      const { browser: other } = await person();
      const setup = await browser.get('/account/two-factor');
      const secret = secretOf(setup);
      const theirs = await other.get('/account/two-factor');
      const enrolmentOf = (page: Page) => /name="enrolment" value="([^"]+)"/.exec(page.text)![1]!;
      for (const enrolment of ['', 'v1.a.b.c', `${enrolmentOf(setup)}x`, enrolmentOf(theirs)]) {
        const page = await browser.submit(
          setup,
          { enrolment, Code: await totpCode(secret, clock) },
          'Turn on',
        );
        expect(page.status, enrolment).toBe(400);
        expect(page.text).toContain('This set-up expired');
        expect(secretOf(page)).not.toBe(secret);
      }
      clock.advance(901);
      const late = await browser.submit(setup, { Code: await totpCode(secret, clock) }, 'Turn on');
      expect(late.status).toBe(400);
    });

    it('asks for the code when none is typed, and refuses malformed forms with 400', async () => {
      const { browser } = await person();
      const setup = await browser.get('/account/two-factor');
      const empty = await browser.submit(setup, { Code: '' }, 'Turn on');
      expect(empty.status).toBe(400);
      expect(empty.text).toContain('Enter the 6-digit code');
      const csrf = /name="_csrf" value="([^"]+)"/.exec(setup.text)![1]!;
      const twice = await browser.request('/account/two-factor', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: `_csrf=${encodeURIComponent(csrf)}&code=1&code=2`,
      });
      expect(twice.status).toBe(400);
      const noCsrf = await browser.post('/account/two-factor', { code: '123456' });
      expect(noCsrf.status).toBe(403);
    });
  });

  it('refuses every two-factor form POST without the CSRF token or with a wrong one (403), changing nothing', async () => {
    const who = await enrolled();
    const { browser: pending } = await secondStep(who);
    const attempts: [Browser, string, Record<string, string>][] = [
      [who.browser, '/account/two-factor', { enrolment: 'x', code: '123456' }],
      [who.browser, '/account/two-factor/disable', { confirmation: who.password }],
      [who.browser, '/account/two-factor/recovery-codes', { confirmation: who.password }],
      [pending, '/login/second-factor', { code: await totpCode(who.secret, clock) }],
    ];
    for (const [browser, path, form] of attempts) {
      for (const token of [undefined, 'forged-token']) {
        const page = await browser.post(path, token ? { ...form, _csrf: token } : form);
        expect(page.status, `${path} with ${token ?? 'no'} token`).toBe(403);
      }
    }
    expect(await ctx().store.totp.find(who.user.id)).toBeDefined();
    expect(await ctx().store.totp.countRecoveryCodes(who.user.id)).toBe(10);
    expect(pending.cookies.has('tessera_session')).toBe(false);
  });

  describe('turning it off and new recovery codes', () => {
    it('turning off needs the password or a code, and two_factor follows', async () => {
      const who = await enrolled();
      const account = await who.browser.get('/account');
      const turnOff = (page: Page, confirmation: string) =>
        who.browser.submit(page, { confirmation }, 'Turn off two-factor authentication');
      const empty = await turnOff(account, '');
      expect(empty.status).toBe(400);
      const wrong = await turnOff(account, 'not my password at all');
      expect(wrong.status).toBe(401);
      expect(wrong.text).toContain('Two-factor authentication is still on');
      expect((await ctx().store.users.findById(who.user.id))?.twoFactor).toBe(true);

      const off = await turnOff(account, who.password);
      expect(off.status).toBe(303);
      expect(off.location).toMatch(/\/account\?notice=two-factor-off$/);
      expect(await ctx().store.totp.find(who.user.id)).toBeUndefined();
      expect((await ctx().store.users.findById(who.user.id))?.twoFactor).toBe(false);
      expect(await auditTypes(who.user.id)).toContain('security.two_factor_disabled');
      // Sign-in no longer asks for a code.
      const browser = new Browser(f.server.url);
      const form = await browser.get('/login');
      const done = await browser.submit(
        form,
        { 'Username or email': who.user.username, Password: who.password },
        'Sign in',
      );
      expect(new URL(done.location!).pathname).toBe('/account');
    });

    it('turns off with a code from the app, or with a recovery code', async () => {
      for (const use of ['app', 'recovery'] as const) {
        const who = await enrolled();
        const account = await who.browser.get('/account');
        const confirmation =
          use === 'app' ? await totpCode(who.secret, clock) : who.recoveryCodes[4]!;
        const off = await who.browser.submit(
          account,
          { confirmation },
          'Turn off two-factor authentication',
        );
        expect(off.status, use).toBe(303);
        expect((await ctx().store.users.findById(who.user.id))?.twoFactor).toBe(false);
        // And on again, with a new key.
        const { secret } = await enrolTotp(who.browser, clock);
        expect(secret).not.toBe(who.secret);
      }
    });

    it('gives new recovery codes after the password or a code; the old ones stop working', async () => {
      const who = await enrolled();
      const account = await who.browser.get('/account');
      const wrong = await who.browser.submit(
        account,
        { confirmation: 'wrong password here' },
        'Get new recovery codes',
      );
      expect(wrong.status).toBe(401);
      const page = await who.browser.submit(
        account,
        { confirmation: who.password },
        'Get new recovery codes',
      );
      expect(page.status).toBe(200);
      expect(page.text).toContain('Save these recovery codes');
      const codes = recoveryCodesOf(page);
      expect(codes).toHaveLength(10);
      expect(await auditTypes(who.user.id)).toContain('security.recovery_codes_regenerated');
      expect((await (await secondStep(who)).verify(who.recoveryCodes[0]!)).status).toBe(401);
      expect((await (await secondStep(who)).verify(codes[0]!)).status).toBe(303);
      const withCode = await who.browser.submit(
        await who.browser.get('/account'),
        { confirmation: await totpCode(who.secret, clock) },
        'Get new recovery codes',
      );
      expect(withCode.status).toBe(200);
      expect(recoveryCodesOf(withCode)).not.toContain(codes[1]);
    });
  });
});
