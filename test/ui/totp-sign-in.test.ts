import { describe, expect, it, vi } from 'vitest';
import { ACR_MFA } from '../../src/domain/acr.js';
import { Browser } from '../helpers/browser.js';
import { secretOf, totpCode, totpFixture } from '../helpers/totp.js';

/** Issue 14 point 5: signing in with an authenticator app's code or a recovery code, and the limit on wrong codes. */
describe('two-factor authentication with an authenticator app: signing in', () => {
  const f = totpFixture();
  const { clock, person, enrolled, secondStep, activeSessions, auditTypes } = f;
  const ctx = () => f.ctx();

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
      const fresh = new Browser(f.server.url);
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
      await ctx().store.users.update(
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
});
