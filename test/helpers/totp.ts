import { generate } from 'otplib';
import { afterAll, beforeAll, expect } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { type Clock, FrozenClock } from '../../src/lib/clock.js';
import type { User } from '../../src/store/types.js';
import { type RunningServer, startServer } from './app.js';
import { type Browser, type Page, Browser as PageBrowser } from './browser.js';
import { makeUser } from './oauth.js';
import { startSmtp, type TestSmtp } from './smtp.js';

/** The code an authenticator app shows for `secret` at the clock's time, `steps` time steps away. */
export function totpCode(secret: string, clock: Clock, steps = 0): Promise<string> {
  return generate({ secret, epoch: Math.floor(clock.now() / 1000) + steps * 30 });
}

/** The key the set-up page shows as text, without its spaces. */
export function secretOf(page: Page): string {
  const match = /<code id="totp-secret">([A-Z2-7 ]+)<\/code>/.exec(page.text);
  expect(match, page.text.slice(0, 500)).not.toBeNull();
  return match![1]!.replace(/ /g, '');
}

/** The recovery codes a page lists. */
export function recoveryCodesOf(page: Page): string[] {
  return [...page.text.matchAll(/<li><code>([a-z2-7]{5}-[a-z2-7]{5})<\/code><\/li>/g)].map(
    (m) => m[1]!,
  );
}

/**
 * Turns TOTP on for the person signed in to `browser`, as they would: opens the set-up page,
 * reads the key shown as text, types the current code. Returns the secret and the recovery codes.
 */
export async function enrolTotp(
  browser: Browser,
  clock: Clock,
): Promise<{ secret: string; recoveryCodes: string[]; page: Page }> {
  const setup = await browser.get('/account/two-factor');
  expect(setup.status, setup.text.slice(0, 300)).toBe(200);
  const secret = secretOf(setup);
  const page = await browser.submit(setup, { Code: await totpCode(secret, clock) }, 'Turn on');
  expect(page.status, page.text.slice(0, 500)).toBe(200);
  const recoveryCodes = recoveryCodesOf(page);
  expect(recoveryCodes).toHaveLength(10);
  return { secret, recoveryCodes, page };
}

/** Signs in with the password on the sign-in page, expecting the second step; returns its page. */
export async function passwordStep(
  browser: Browser,
  login: string,
  password: string,
): Promise<Page> {
  const form = await browser.get('/login');
  const next = await browser.submit(
    form,
    { 'Username or email': login, Password: password },
    'Sign in',
  );
  expect(next.status, next.text.slice(0, 300)).toBe(303);
  expect(new URL(next.location!).pathname).toMatch(/\/login\/second-factor$/);
  return browser.follow(next);
}

/** A person of a TOTP test: who they are, and their browser, signed in with the password. */
export interface TotpPerson {
  user: User;
  password: string;
  browser: Browser;
}

/**
 * A server (real SMTP, frozen clock ten seconds into a time step, so that ±1 step is 30 s either
 * way) and the people of the TOTP tests; call in a describe block, which starts and stops both.
 */
export function totpFixture() {
  const clock = new FrozenClock(1_800_000_010_000);
  let server: RunningServer;
  let smtp: TestSmtp;
  beforeAll(async () => {
    smtp = await startSmtp();
    server = await startServer({ clock, env: { TESSERA_SMTP_URL: smtp.url } });
  });
  afterAll(async () => {
    await server.close();
    await smtp.close();
  });
  const ctx = (): AppContext => server.app.tessera;

  /** A person signed in with their password in a browser of their own. */
  async function person(): Promise<TotpPerson> {
    const { user, password } = await makeUser(ctx());
    const browser = new PageBrowser(server.url);
    const form = await browser.get('/login');
    const done = await browser.submit(
      form,
      { 'Username or email': user.username, Password: password },
      'Sign in',
    );
    expect(done.status).toBe(303);
    return { user, password, browser };
  }

  return {
    clock,
    ctx,
    get server() {
      return server;
    },
    get smtp() {
      return smtp;
    },
    person,
    /** A person with TOTP on, and the time moved to a step no code was used in. */
    async enrolled() {
      const who = await person();
      const { secret, recoveryCodes } = await enrolTotp(who.browser, clock);
      clock.advance(30);
      return { ...who, secret, recoveryCodes };
    },
    /** A new browser past the password, at the second step; `verify` sends a code. */
    async secondStep(who: { user: { username: string }; password: string }) {
      const browser = new PageBrowser(server.url);
      const page = await passwordStep(browser, who.user.username, who.password);
      return {
        browser,
        page,
        verify: (code: string) => browser.submit(page, { Code: code }, 'Verify'),
      };
    },
    activeSessions: (userId: string) =>
      ctx().store.sessions.listActiveForUser(userId, Math.floor(clock.now() / 1000)),
    auditTypes: async (userId: string) =>
      (await ctx().store.audit.list({ limit: 100, userId })).map((e) => e.type),
  };
}
