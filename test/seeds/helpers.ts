import { expect } from 'vitest';
import { Browser, type Page } from '../helpers/browser.js';
import { TEST_ADMIN_KEY } from '../helpers/config.js';

/** A seed's client app: registers through the admin API, as seed 003 does. */
export async function registerClient(base: string, body: Record<string, unknown>) {
  const res = await fetch(`${base}/admin/api/clients`, {
    method: 'POST',
    headers: { 'x-admin-key': TEST_ADMIN_KEY, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(201);
  return (await res.json()) as {
    client_id: string;
    client_secret: string;
    redirect_uris: string[];
    redirect_url: string;
  };
}

/** A person signs up through the registration API (seed 002's register_user). */
export async function registerUser(base: string, body: Record<string, string>) {
  const res = await fetch(`${base}/api/users`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(201);
  return (await res.json()) as { id: string; username: string };
}

/**
 * The person's browser: goes to the authorization URL, signs in on the sign-in
 * page when asked, presses Allow, and returns the redirect back to the client.
 */
export async function personAuthorizes(
  browser: Browser,
  start: Page,
  login: { username: string; password: string },
) {
  let page = await browser.follow(start);
  if (new URL(page.url).pathname === '/login') {
    page = await browser.follow(
      await browser.submit(
        page,
        { 'Username or email': login.username, Password: login.password },
        'Sign in',
      ),
    );
  }
  if (page.status === 200 && page.text.includes('Allow'))
    page = await browser.submit(page, {}, 'Allow');
  expect(page.location, page.text.slice(0, 500)).toBeTruthy();
  return new URL(page.location!);
}

export async function json(res: Response) {
  const text = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
  };
}

export const form = (values: Record<string, string>) => new URLSearchParams(values).toString();
export const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
export const JSON_TYPE = { 'content-type': 'application/json' };
export { Browser };
