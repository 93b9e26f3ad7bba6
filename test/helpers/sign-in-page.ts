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

/**
 * Plays the person at Tessera's pages for an authorization URL an app built (a real client
 * library's): opens it, signs in through the sign-in page, presses Allow on the consent page when
 * it appears, and returns the consent page (if shown) and the redirect back to the app.
 */
export async function signInAndConsent(
  browser: Browser,
  authorizationUrl: string | URL,
  login: string,
  password: string,
): Promise<{ consent: Page | undefined; callback: URL }> {
  let page = await browser.get(authorizationUrl.toString());
  if (page.location && new URL(page.location).pathname === '/login') {
    page = await signInThroughPage(browser, page, login, password);
  } else {
    page = await browser.follow(page);
  }
  let consent: Page | undefined;
  if (page.status === 200 && page.text.includes('Allow')) {
    consent = page;
    page = await browser.submit(page, {}, 'Allow');
  }
  expect(page.location, `${page.status}: ${page.text.slice(0, 300)}`).toBeDefined();
  return { consent, callback: new URL(page.location!) };
}
