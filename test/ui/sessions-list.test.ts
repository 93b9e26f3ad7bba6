import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { browserName } from '../../src/lib/browser-name.js';
import { type RunningServer, startServer } from '../helpers/app.js';
import { Browser, readForms } from '../helpers/browser.js';
import { makeUser } from '../helpers/oauth.js';

const CHROME_ON_LINUX =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';

describe('the sessions list names a browser as people know it', () => {
  it.each([
    [CHROME_ON_LINUX, 'Chrome on Linux'],
    [
      'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0',
      'Firefox on Windows',
    ],
    [
      'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15',
      'Safari on Mac OS',
    ],
    [
      'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1',
      'Mobile Safari on iOS',
    ],
    [
      'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.81 Mobile Safari/537.36',
      'Chrome on Android',
    ],
    [
      'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0',
      'Edge on Windows',
    ],
  ])('%s is "%s"', (userAgent, expected) => {
    expect(browserName(userAgent)).toBe(expected);
  });

  it.each([
    ['no User-Agent header', null],
    ['an empty one', ''],
    ['a tool', 'curl/8.5.0'],
    ['garbage', '\u0000<script>alert(1)</script>;;;((('],
  ])('%s is "Unknown browser"', (_what, userAgent) => {
    expect(browserName(userAgent)).toBe('Unknown browser');
  });

  it('names the system when only that is known', () => {
    expect(browserName('SomeApp (Linux; Android 14)')).toBe('Unknown browser on Android');
  });
});

describe("the account page's sessions list", () => {
  let server: RunningServer;
  let ctx: AppContext;
  beforeAll(async () => {
    server = await startServer();
    ctx = server.app.tessera;
  });
  afterAll(async () => server.close());

  /** Signs in through the sign-in page, sending `userAgent` as a browser does on every request. */
  async function signInAs(userAgent: string, login: string, password: string): Promise<Browser> {
    const browser = new Browser(server.url);
    const headers = { 'user-agent': userAgent };
    const page = await browser.request('/login', { headers });
    const form = readForms(page.text, page.url)[0]!;
    const done = await browser.request('/login', {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ ...form.fields, username: login, password }).toString(),
    });
    expect(done.status, done.text).toBe(303);
    return browser;
  }

  it('shows each browser as "Chrome on Linux", never the raw User-Agent', async () => {
    const { user, password } = await makeUser(ctx);
    const chrome = await signInAs(CHROME_ON_LINUX, user.username, password);
    await signInAs('curl/8.5.0', user.username, password);
    const page = await chrome.get('/account');
    const list = /<ul class="sessions">([\s\S]*?)<\/ul>/.exec(page.text)?.[1] ?? '';
    expect(list).toMatch(/Chrome on Linux · 127\.0\.0\.1[\s\S]*?\(this browser\)/);
    expect(list).toContain('Unknown browser · 127.0.0.1');
    expect(list).not.toContain('Mozilla');
    expect(list).not.toContain('curl');
  });
});
