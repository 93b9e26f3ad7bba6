import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FrozenClock } from '../../src/lib/clock.js';
import { type RunningServer, startServer } from '../helpers/app.js';
import { Browser } from '../helpers/browser.js';
import { makeUser } from '../helpers/oauth.js';
import { csrfOf } from '../helpers/passkey-flows.js';
import { startSmtp, type TestSmtp } from '../helpers/smtp.js';
import { enrolTotp, passwordStep, secretOf, totpCode } from '../helpers/totp.js';

/** A server with a frozen clock ten seconds into a time step, and `env` over the defaults. */
function serverWith(env: Record<string, string> = {}) {
  const clock = new FrozenClock(1_800_000_010_000);
  const state: { server?: RunningServer; smtp?: TestSmtp } = {};
  beforeAll(async () => {
    state.smtp = await startSmtp();
    state.server = await startServer({ clock, env: { TESSERA_SMTP_URL: state.smtp.url, ...env } });
  });
  afterAll(async () => {
    await state.server?.close();
    await state.smtp?.close();
  });
  async function person(password?: string) {
    const server = state.server!;
    const { user, password: pw } = await makeUser(server.app.tessera, password ? { password } : {});
    const browser = new Browser(server.url);
    const form = await browser.get('/login');
    const done = await browser.submit(
      form,
      { 'Username or email': user.username, Password: pw },
      'Sign in',
    );
    expect(done.status).toBe(303);
    return { user, password: pw, browser };
  }
  return {
    clock,
    get server() {
      return state.server!;
    },
    person,
  };
}

describe('the second-factor limit (5 wrong codes in 15 minutes)', () => {
  const f = serverWith();

  it('a right code for a set-up opened before the app was on does not start the count of wrong codes again', async () => {
    const who = await f.person();
    // A set-up page left open, then the app turned on in another tab.
    const stale = await who.browser.get('/account/two-factor');
    const staleSecret = secretOf(stale);
    await enrolTotp(who.browser, f.clock);
    f.clock.advance(30);
    const browser = new Browser(f.server.url);
    const second = await passwordStep(browser, who.user.username, who.password);
    for (let i = 1; i <= 4; i++) {
      expect((await browser.submit(second, { Code: '000000' }, 'Verify')).status).toBe(401);
    }
    // The stale set-up's right code: refused as already on, before its code is checked.
    const again = await who.browser.submit(
      stale,
      { Code: await totpCode(staleSecret, f.clock) },
      'Turn on',
    );
    expect(again.status).toBe(303);
    expect(again.location).toContain('notice=two-factor-on');
    // So the fifth wrong code still reaches the limit.
    const fifth = await browser.submit(second, { Code: '000000' }, 'Verify');
    expect(fifth.status).toBe(429);
  });

  it('a password shaped like a recovery code counts no wrong code when it holds', async () => {
    const who = await f.person('zqxwvkjmtr');
    const { secret } = await enrolTotp(who.browser, f.clock);
    f.clock.advance(30);
    for (let i = 1; i <= 6; i++) {
      const account = await who.browser.get('/account');
      const page = await who.browser.post('/account/two-factor/recovery-codes', {
        _csrf: csrfOf(account),
        confirmation: 'zqxwvkjmtr',
      });
      expect(page.status, `confirmation ${i}`).toBe(200);
    }
    // Nothing was counted: the second step still takes a right code.
    const browser = new Browser(f.server.url);
    const second = await passwordStep(browser, who.user.username, who.password);
    const done = await browser.submit(second, { Code: await totpCode(secret, f.clock) }, 'Verify');
    expect(done.status).toBe(303);
    expect(new URL(done.location!).pathname).toBe('/account');
  });
});

describe('the daily second-factor cap (TESSERA_SECOND_FACTOR_DAILY_MAX_FAILURES, default 20)', () => {
  // The 15-minute limit out of the way, to reach the daily one.
  const f = serverWith({ TESSERA_SECOND_FACTOR_MAX_FAILURES: '1000' });

  it('19 wrong codes leave a right one accepted; the 20th is refused, and so is every code after it for the day', async () => {
    const who = await f.person();
    const { secret } = await enrolTotp(who.browser, f.clock);
    f.clock.advance(30);
    const browser = new Browser(f.server.url);
    let second = await passwordStep(browser, who.user.username, who.password);
    for (let i = 1; i <= 19; i++) {
      expect((await browser.submit(second, { Code: '000000' }, 'Verify')).status).toBe(401);
    }
    const done = await browser.submit(second, { Code: await totpCode(secret, f.clock) }, 'Verify');
    expect(done.status).toBe(303);
    // The right code did not give the day's wrong ones back: the next wrong one is the 20th.
    f.clock.advance(30);
    const other = new Browser(f.server.url);
    second = await passwordStep(other, who.user.username, who.password);
    const twentieth = await other.submit(second, { Code: '000000' }, 'Verify');
    expect(twentieth.status).toBe(429);
    expect(Number(twentieth.headers.get('retry-after'))).toBeGreaterThan(86_000);
    const right = await other.submit(second, { Code: await totpCode(secret, f.clock) }, 'Verify');
    expect(right.status).toBe(429);
  });
});
