import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { ACR_MFA } from '../../src/domain/acr.js';
import { FrozenClock } from '../../src/lib/clock.js';
import { type RunningServer, startServer } from '../helpers/app.js';
import { Browser, type Page } from '../helpers/browser.js';
import { makeUser } from '../helpers/oauth.js';
import { startSmtp, type TestSmtp } from '../helpers/smtp.js';
import { enrolTotp, passwordStep, recoveryCodesOf, secretOf, totpCode } from '../helpers/totp.js';

/** Issue 14 point 5: an authenticator app (TOTP, RFC 6238) as the second factor, over real HTTP. */
describe('two-factor authentication with an authenticator app', () => {
  let server: RunningServer;
  let smtp: TestSmtp;
  let ctx: AppContext;
  // Ten seconds into a time step, so that ±1 step is 30 s either way.
  const clock = new FrozenClock(1_800_000_010_000);

  beforeAll(async () => {
    smtp = await startSmtp();
    server = await startServer({ clock, env: { TESSERA_SMTP_URL: smtp.url } });
    ctx = server.app.tessera;
  });
  afterAll(async () => {
    await server.close();
    await smtp.close();
  });

  /** A person signed in with their password in a browser of their own. */
  async function person() {
    const { user, password } = await makeUser(ctx);
    const browser = new Browser(server.url);
    const form = await browser.get('/login');
    const done = await browser.submit(
      form,
      { 'Username or email': user.username, Password: password },
      'Sign in',
    );
    expect(done.status).toBe(303);
    return { user, password, browser };
  }

  /** A person with TOTP on, and the time moved to a step no code was used in. */
  async function enrolled() {
    const who = await person();
    const { secret, recoveryCodes } = await enrolTotp(who.browser, clock);
    clock.advance(30);
    return { ...who, secret, recoveryCodes };
  }

  async function secondStep(who: { user: { username: string }; password: string }) {
    const browser = new Browser(server.url);
    const page = await passwordStep(browser, who.user.username, who.password);
    return {
      browser,
      page,
      verify: (code: string) => browser.submit(page, { Code: code }, 'Verify'),
    };
  }

  async function activeSessions(userId: string) {
    return ctx.store.sessions.listActiveForUser(userId, Math.floor(clock.now() / 1000));
  }

  async function auditTypes(userId: string) {
    return (await ctx.store.audit.list({ limit: 100, userId })).map((e) => e.type);
  }

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
      expect(await ctx.store.totp.find(user.id)).toBeUndefined();
      expect((await ctx.store.users.findById(user.id))?.twoFactor).toBe(false);

      const on = await browser.submit(wrong, { Code: await totpCode(secret, clock) }, 'Turn on');
      expect(on.status).toBe(200);
      expect(on.text).toContain('Save these recovery codes');
      const codes = recoveryCodesOf(on);
      expect(codes).toHaveLength(10);
      expect(new Set(codes).size).toBe(10);
      expect(on.headers.get('cache-control')).toBe('no-store');

      expect((await ctx.store.users.findById(user.id))?.twoFactor).toBe(true);
      expect(await auditTypes(user.id)).toContain('security.two_factor_enabled');
      expect((await smtp.next(user.email)).to).toContain(user.email.toLowerCase());

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
    expect(await ctx.store.totp.find(who.user.id)).toBeDefined();
    expect(await ctx.store.totp.countRecoveryCodes(who.user.id)).toBe(10);
    expect(pending.cookies.has('tessera_session')).toBe(false);
  });

  describe('signing in', () => {
    it('asks for a code after the password, and a right code starts a session with otp and mfa', async () => {
      const who = await enrolled();
      const { browser, page, verify } = await secondStep(who);
      expect(page.status).toBe(200);
      expect(page.text).toContain('<label for="code">Code</label>');
      expect(page.text).toContain('>Verify</button>');
      // No passkeys: no passkey button, no script.
      expect(page.text).not.toContain('passkey-second-factor');
      expect(page.text).not.toContain('passkeys.js');
      // No session yet: the account page still wants a sign-in.
      const before = await browser.get('/account');
      expect(before.status).toBe(303);

      const wrong = await verify('000000');
      expect(wrong.status).toBe(401);
      const done = await browser.submit(
        wrong,
        { Code: await totpCode(who.secret, clock) },
        'Verify',
      );
      expect(done.status).toBe(303);
      expect(new URL(done.location!).pathname).toBe('/account');
      expect(browser.cookies.has('tessera_pending')).toBe(false);
      const account = await browser.get('/account');
      expect(account.status).toBe(200);
      const newest = (await activeSessions(who.user.id)).sort(
        (a, b) => b.createdAt - a.createdAt,
      )[0]!;
      expect(newest.amr).toEqual(['pwd', 'otp', 'mfa']);
      expect(newest.acr).toBe(ACR_MFA);
    });

    it('refuses a code used already, and an older one after a newer', async () => {
      const who = await enrolled();
      const now = await totpCode(who.secret, clock);
      const previous = await totpCode(who.secret, clock, -1);
      expect((await (await secondStep(who)).verify(now)).status).toBe(303);
      const reused = await (await secondStep(who)).verify(now);
      expect(reused.status).toBe(401);
      expect(reused.text).toContain('That code was used already');
      expect((await (await secondStep(who)).verify(previous)).status).toBe(401);
      clock.advance(30);
      expect((await (await secondStep(who)).verify(await totpCode(who.secret, clock))).status).toBe(
        303,
      );
    });

    it('of ten sign-ins sending the same code at once, exactly one is accepted', async () => {
      const who = await enrolled();
      const steps = await Promise.all(Array.from({ length: 10 }, () => secondStep(who)));
      const code = await totpCode(who.secret, clock);
      const pages = await Promise.all(steps.map((step) => step.verify(code)));
      const statuses = pages.map((p) => p.status);
      expect(statuses.filter((status) => status === 303)).toHaveLength(1);
      // The others were refused: as used already, or by the limit they then reached.
      for (const status of statuses.filter((s) => s !== 303)) expect([401, 429]).toContain(status);
    });

    it('accepts codes one step either side of now and refuses two steps away (frozen clock)', async () => {
      const who = await enrolled();
      clock.advance(300);
      const code = (steps: number) => totpCode(who.secret, clock, steps);
      expect((await (await secondStep(who)).verify(await code(-2))).status).toBe(401);
      expect((await (await secondStep(who)).verify(await code(2))).status).toBe(401);
      expect((await (await secondStep(who)).verify(await code(-1))).status).toBe(303);
      expect((await (await secondStep(who)).verify(await code(1))).status).toBe(303);
      // The step of now lies behind the last one accepted.
      expect((await (await secondStep(who)).verify(await code(0))).status).toBe(401);
    });

    it('accepts each recovery code once, in any case and with or without its dash, as mfa without otp', async () => {
      const who = await enrolled();
      const [first, second] = who.recoveryCodes as [string, string];
      const { browser, verify } = await secondStep(who);
      expect((await verify(first)).status).toBe(303);
      const sessions = (await activeSessions(who.user.id)).sort((a, b) => b.authTime - a.authTime);
      expect(sessions[0]!.amr).toEqual(['pwd', 'mfa']);
      expect(sessions[0]!.acr).toBe(ACR_MFA);
      expect((await browser.get('/account')).text).toContain('9 of 10 recovery codes left');
      expect((await (await secondStep(who)).verify(first)).status).toBe(401);
      expect(
        (await (await secondStep(who)).verify(` ${second.replace('-', '').toUpperCase()} `)).status,
      ).toBe(303);
    });

    it('sends a browser with no pending sign-in, or one that took too long, back to the sign-in page', async () => {
      const fresh = new Browser(server.url);
      const none = await fresh.get('/login/second-factor');
      expect(none.status).toBe(303);
      expect(none.location).toMatch(/\/login\?expired=1$/);
      expect((await fresh.follow(none)).text).toContain('Your sign-in was not finished in time');

      const who = await enrolled();
      const { page, verify } = await secondStep(who);
      clock.advance(601);
      const late = await verify(await totpCode(who.secret, clock));
      expect(late.status).toBe(303);
      expect(late.location).toMatch(/\/login\?expired=1$/);
      void page;
    });

    it('does not start the session when the password changed between the two steps', async () => {
      const who = await enrolled();
      const { browser, verify } = await secondStep(who);
      await ctx.store.users.update(
        who.user.id,
        { passwordHash: 'changed' },
        Math.floor(clock.now() / 1000),
      );
      const done = await verify(await totpCode(who.secret, clock));
      expect(done.status).toBe(303);
      expect(done.location).toMatch(/\/login\?expired=1$/);
      expect((await browser.get('/account')).status).toBe(303);
    });

    it('answers a malformed code with 400, not an error', async () => {
      const who = await enrolled();
      const { verify } = await secondStep(who);
      expect((await verify('')).status).toBe(400);
      expect((await verify('x'.repeat(65))).status).toBe(400);
      expect((await verify('12345')).status).toBe(401);
    });
  });

  describe('the limit on wrong codes', () => {
    it('refuses the 5th wrong code with 429 and Retry-After, then even a right one, until the window ends', async () => {
      // The limits count by Date.now() (rate-limiter-flexible), not by the app's clock: both move.
      vi.useFakeTimers({ toFake: ['Date'] });
      try {
        const who = await enrolled();
        for (let i = 1; i <= 4; i++) {
          const page = await (await secondStep(who)).verify('000000');
          expect(page.status, `wrong code ${i}`).toBe(401);
        }
        const fifth = await (await secondStep(who)).verify('000000');
        expect(fifth.status).toBe(429);
        expect(Number(fifth.headers.get('retry-after'))).toBe(900);
        expect(fifth.text).toContain('Too many failed attempts. Try again in 15 minutes.');
        const sixth = await (await secondStep(who)).verify(await totpCode(who.secret, clock));
        expect(sixth.status).toBe(429);
        expect(await auditTypes(who.user.id)).toContain('user.second_factor_locked');
        vi.advanceTimersByTime(899_000);
        clock.advance(899);
        const early = await (await secondStep(who)).verify(await totpCode(who.secret, clock));
        expect(early.status).toBe(429);
        expect(early.headers.get('retry-after')).toBe('1');
        vi.advanceTimersByTime(1_000);
        clock.advance(1);
        const code = await totpCode(who.secret, clock);
        expect((await (await secondStep(who)).verify(code)).status).toBe(303);
      } finally {
        vi.useRealTimers();
      }
    });

    it('counts wrong codes wherever they are typed, and a right code starts the count again', async () => {
      const who = await enrolled();
      for (let i = 0; i < 4; i++)
        expect((await (await secondStep(who)).verify('000000')).status).toBe(401);
      expect((await (await secondStep(who)).verify(await totpCode(who.secret, clock))).status).toBe(
        303,
      );
      for (let i = 0; i < 3; i++)
        expect((await (await secondStep(who)).verify('111111')).status).toBe(401);
      // The 4th and 5th wrong of this count: one at turning off, one at sign-in.
      const account = await who.browser.get('/account');
      const off = await who.browser.submit(
        account,
        { confirmation: '222222' },
        'Turn off two-factor authentication',
      );
      expect(off.status).toBe(401);
      expect((await (await secondStep(who)).verify('333333')).status).toBe(429);
    });

    it('counts wrong first codes of a set-up', async () => {
      const { browser } = await person();
      let page = await browser.get('/account/two-factor');
      for (let i = 0; i < 4; i++) {
        page = await browser.submit(page, { Code: '000000' }, 'Turn on');
        expect(page.status).toBe(401);
      }
      page = await browser.submit(page, { Code: '000000' }, 'Turn on');
      expect(page.status).toBe(429);
      expect(page.headers.get('retry-after')).toBeTruthy();
      page = await browser.submit(page, { Code: await totpCode(secretOf(page), clock) }, 'Turn on');
      expect(page.status).toBe(429);
    });
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
      expect((await ctx.store.users.findById(who.user.id))?.twoFactor).toBe(true);

      const off = await turnOff(account, who.password);
      expect(off.status).toBe(303);
      expect(off.location).toMatch(/\/account\?notice=two-factor-off$/);
      expect(await ctx.store.totp.find(who.user.id)).toBeUndefined();
      expect((await ctx.store.users.findById(who.user.id))?.twoFactor).toBe(false);
      expect(await auditTypes(who.user.id)).toContain('security.two_factor_disabled');
      // Sign-in no longer asks for a code.
      const browser = new Browser(server.url);
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
        expect((await ctx.store.users.findById(who.user.id))?.twoFactor).toBe(false);
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
