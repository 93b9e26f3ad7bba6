import { expect } from 'vitest';
import type { AppContext } from '../../src/context.js';
import type { User } from '../../src/store/types.js';
import type { RunningServer } from './app.js';
import { Browser, type Page } from './browser.js';
import { makeUser, signInBrowser } from './oauth.js';
import { SoftAuthenticator, type Tamper } from './webauthn.js';

/*
 * The passkey ceremonies over HTTP as the page's script runs them (assets/passkeys.js), with the
 * software authenticator of webauthn.ts in place of the browser's.
 */

export type Json = Record<string, unknown>;

export const csrfOf = (page: Page): string => {
  const token = /name="_csrf" value="([^"]+)"/.exec(page.text)?.[1];
  if (!token) throw new Error(`no CSRF token on ${page.url} (${page.status})`);
  return token;
};

export async function postJson(browser: Browser, path: string, body: unknown) {
  const page = await browser.request(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  let json: Json = {};
  try {
    json = JSON.parse(page.text) as Json;
  } catch {
    // Left empty: the status says enough.
  }
  return { status: page.status, body: json, page };
}

/** The ceremonies against `server` (read when called: tests start it in beforeAll). */
export function passkeyFlows(running: () => { server: RunningServer; ctx: AppContext }) {
  const server = {
    get url() {
      return running().server.url;
    },
    get origin() {
      return running().server.origin;
    },
  };
  const ctxOf = () => running().ctx;

  const authenticator = (options: { synced?: boolean; noCounter?: boolean } = {}) =>
    new SoftAuthenticator({ origin: server.origin, ...options });

  /** A browser signed in as a new person, with the account page's CSRF token. */
  async function signedIn(): Promise<{
    browser: Browser;
    user: User;
    csrf: string;
    password: string;
  }> {
    const { user, password } = await makeUser(ctxOf());
    const browser = new Browser(server.url);
    await signInBrowser(ctxOf(), browser, user);
    const page = await browser.get('/account');
    return { browser, user, password, csrf: csrfOf(page) };
  }

  async function register(
    browser: Browser,
    csrf: string,
    device: SoftAuthenticator,
    name: string,
    tamper: Tamper = {},
  ) {
    const options = await postJson(browser, '/account/passkeys/options', { _csrf: csrf });
    expect(options.status, JSON.stringify(options.body)).toBe(200);
    const credential = device.create(options.body as never, tamper);
    return postJson(browser, '/account/passkeys', { _csrf: csrf, name, credential });
  }

  /** A new person with one passkey on `device`. */
  async function personWithPasskey(device: SoftAuthenticator) {
    const person = await signedIn();
    const added = await register(person.browser, person.csrf, device, 'Laptop');
    expect(added.status, JSON.stringify(added.body)).toBe(200);
    return person;
  }

  /** A browser at the sign-in page (no session), with its CSRF token. */
  async function atLogin(path = '/login') {
    const browser = new Browser(server.url);
    const page = await browser.get(path);
    return { browser, csrf: csrfOf(page), page };
  }

  async function passkeySignIn(
    browser: Browser,
    csrf: string,
    device: SoftAuthenticator,
    tamper: Tamper = {},
    extra: Json = {},
  ) {
    const options = await postJson(browser, '/login/passkey/options', { _csrf: csrf });
    expect(options.status).toBe(200);
    expect(options.body.allowCredentials ?? []).toEqual([]);
    expect(options.body.userVerification).toBe('required');
    const credential = device.get(options.body as never, tamper);
    return postJson(browser, '/login/passkey', { _csrf: csrf, credential, ...extra });
  }

  return { authenticator, signedIn, register, personWithPasskey, atLogin, passkeySignIn };
}
