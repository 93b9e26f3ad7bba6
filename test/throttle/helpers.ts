import { afterEach, beforeEach, expect, vi } from 'vitest';
import { Browser, type Page } from '../helpers/browser.js';

/**
 * A browser behind a proxy that says it is at `ip` (X-Forwarded-For): with
 * TESSERA_TRUST_PROXY=loopback, the server counts it under that address, so
 * one test server can see many people.
 */
export class BrowserAt extends Browser {
  constructor(
    base: string,
    readonly ip: string,
  ) {
    super(base);
  }

  override request(path: string, init: RequestInit = {}): Promise<Page> {
    const headers = new Headers(init.headers);
    headers.set('x-forwarded-for', this.ip);
    return super.request(path, { ...init, headers });
  }
}

/** Fills in and submits the sign-in form from `ip`, as a fresh browser. */
export async function signInFrom(
  base: string,
  ip: string,
  login: string,
  password: string,
): Promise<Page> {
  const browser = new BrowserAt(base, ip);
  const form = await browser.get('/login');
  return browser.submit(form, { 'Username or email': login, Password: password }, 'Sign in');
}

/** The form's alert message on a page. */
export function alertOf(page: Page): string | undefined {
  return /role="alert"[^>]*>([^<]*)</.exec(page.text)?.[1];
}

/** Asserts a 429 with a whole-second Retry-After of at most `max`; returns it. */
export function expectRetryAfter(page: { status: number; headers: Headers }, max: number): number {
  expect(page.status).toBe(429);
  const value = page.headers.get('retry-after') ?? '';
  expect(value).toMatch(/^\d+$/);
  const seconds = Number(value);
  expect(seconds).toBeGreaterThanOrEqual(1);
  expect(seconds).toBeLessThanOrEqual(max);
  return seconds;
}

/**
 * Freezes Date for each test of the file, and moves it on when told. The abuse limits keep their
 * windows, lockouts and waits by Date.now() (rate-limiter-flexible's in-process store, and the
 * client blocks), not by the app's clock: a test moves that time past a lockout instead of
 * sleeping through it, and reads exact Retry-After values. Only Date is faked; timers, sockets
 * and the database run as usual. The in-process store also drops an entry by a real timer when
 * it ends, so the limits these tests set last minutes: no such timer fires while a test runs.
 */
export function frozenDate(): { pass(seconds: number): void } {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });
  return { pass: (seconds) => vi.advanceTimersByTime(seconds * 1000) };
}

let addresses = 0;
/** A fresh address from TEST-NET-2 for each caller, so that tests on one server do not share counts. */
export function freshIp(): string {
  addresses += 1;
  return `198.51.${100 + Math.floor(addresses / 250)}.${(addresses % 250) + 1}`;
}
