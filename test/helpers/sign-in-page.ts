import { expect } from 'vitest';
import type { Browser, Page } from './browser.js';

/**
 * Signs in through the real sign-in page, as a person does: follows `page` (a redirect to
 * /login) to the form, posts the login and password with the form's CSRF token, and follows the
 * way back. Returns the page after it: a redirect to the client, or a page such as consent.
 */
export async function signInThroughPage(
  browser: Browser,
  page: Page,
  login: string,
  password: string,
): Promise<Page> {
  const form = await browser.follow(page);
  expect(new URL(form.url).pathname, form.text.slice(0, 300)).toMatch(/^(\/[\w.~-]+)*\/login$/);
  const back = await browser.submit(
    form,
    { 'Username or email': login, Password: password },
    'Sign in',
  );
  expect(back.status, back.text.slice(0, 300)).toBe(303);
  return browser.follow(back);
}
