import { generate } from 'otplib';
import { expect } from 'vitest';
import type { Clock } from '../../src/lib/clock.js';
import type { Browser, Page } from './browser.js';

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
