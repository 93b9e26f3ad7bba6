import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SESSION_COOKIE } from '../../src/http/session.js';
import { loginUrl } from '../../src/ui/pages/login.js';
import { returnToOrDefault, safeReturnTo } from '../../src/ui/pages/return-to.js';
import { type RunningServer, startServer } from '../helpers/app.js';
import { Browser } from '../helpers/browser.js';
import { makeUser } from '../helpers/oauth.js';
import { storeFactories, type TestStore } from '../helpers/stores.js';

describe('return_to', () => {
  it.each([
    '/account',
    '/account/edit?x=1',
    '/authorize?client_id=abc&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&state=%2F%2Fx',
    '/',
  ])('keeps the same-origin path %s', (path) => {
    expect(safeReturnTo(path)).toBe(path);
  });

  it.each([
    ['protocol-relative', '//evil.example'],
    ['protocol-relative with path', '//evil.example/account'],
    ['backslash host', '/\\evil.example'],
    ['backslash later', '/a\\b'],
    ['absolute https', 'https://evil.example'],
    ['javascript scheme', 'javascript:alert(1)'],
    ['relative without slash', 'account'],
    ['tab that browsers strip', '/\t/evil.example'],
    ['newline', '/account\n'],
    ['space', '/ /evil.example'],
    ['empty', ''],
    ['too long', `/${'a'.repeat(9000)}`],
    // The path goes after the issuer's: /tenant-a/../elsewhere would leave it.
    ['a dot-dot segment', '/../elsewhere'],
    ['a dot-dot segment later', '/account/../../elsewhere?x=1'],
    ['a percent-encoded dot-dot segment', '/%2e%2E/elsewhere'],
    ['a half-encoded dot-dot segment', '/.%2e/elsewhere'],
    ['a dot segment', '/./account'],
  ])('refuses %s', (_name, value) => {
    expect(safeReturnTo(value)).toBeUndefined();
    expect(returnToOrDefault(value)).toBe('/account');
  });

  it.each([
    ['Latin-1', '/account?x=café', '/account?x=caf%C3%A9'],
    ['beyond Latin-1', '/account?x=中文', '/account?x=%E4%B8%AD%E6%96%87'],
    ['in the path, with an emoji', '/a/😀/b', '/a/%F0%9F%98%80/b'],
    ['already encoded, kept as is', '/account?x=%E4%B8%AD', '/account?x=%E4%B8%AD'],
  ])(
    'percent-encodes characters outside ASCII (%s), so a Location header can carry it',
    (_n, value, path) => {
      expect(safeReturnTo(value)).toBe(path);
    },
  );

  it('refuses an unpaired surrogate, and a value too long once encoded', () => {
    expect(safeReturnTo('/account?x=\ud800')).toBeUndefined();
    expect(safeReturnTo(`/${'中'.repeat(3000)}`)).toBeUndefined();
  });

  it('refuses anything that is not a string', () => {
    expect(safeReturnTo(['/a', '/b'])).toBeUndefined();
    expect(safeReturnTo(undefined)).toBeUndefined();
  });

  it('builds the sign-in URL with a readable, encoded return_to', () => {
    expect(loginUrl('', '/account')).toBe('/login?return_to=/account');
    expect(loginUrl('', '/authorize?a=1&b=2')).toBe('/login?return_to=/authorize%3Fa%3D1%26b%3D2');
    expect(
      new URL(loginUrl('', '/authorize?a=1&b=2'), 'http://x').searchParams.get('return_to'),
    ).toBe('/authorize?a=1&b=2');
    expect(loginUrl('', '//evil.example')).toBe('/login');
    // Under an issuer's path, the page is there; return_to stays a path under it.
    expect(loginUrl('/tenant-a', '/account')).toBe('/tenant-a/login?return_to=/account');
  });

  it('keeps dots that are not whole segments', () => {
    expect(safeReturnTo('/a.b/..c/...?x=..')).toBe('/a.b/..c/...?x=..');
  });
});

for (const factory of storeFactories()) {
  describe(`return_to outside Latin-1 over HTTP (${factory.name})`, () => {
    let server: RunningServer;
    let ts: TestStore;
    beforeAll(async () => {
      ts = await factory.open();
      server = await startServer({ store: ts.store });
    });
    afterAll(async () => {
      await server.close();
      await ts.cleanup();
    });

    it('signs in and redirects to the percent-encoded path, instead of a 500 after the session was made', async () => {
      const { user, password } = await makeUser(server.app.tessera);
      const browser = new Browser(server.url);
      const form = await browser.get(`/login?return_to=${encodeURIComponent('/account?x=中文')}`);
      expect(form.status).toBe(200);
      expect(form.text).toContain('value="/account?x=%E4%B8%AD%E6%96%87"');
      const signedIn = await browser.submit(
        form,
        { 'Username or email': user.username, Password: password },
        'Sign in',
      );
      expect(signedIn.status, signedIn.text).toBe(303);
      expect(signedIn.location).toBe(`${server.url}/account?x=%E4%B8%AD%E6%96%87`);
      expect(browser.cookies.has(SESSION_COOKIE)).toBe(true);
      expect((await browser.follow(signedIn)).status).toBe(200);
    });

    it('does the same when the raw value is posted with the form', async () => {
      const { user, password } = await makeUser(server.app.tessera);
      const browser = new Browser(server.url);
      const form = await browser.get('/login');
      const signedIn = await browser.submit(
        form,
        {
          'Username or email': user.username,
          Password: password,
          return_to: '/account/edit?名=値',
        },
        'Sign in',
      );
      expect(signedIn.status, signedIn.text).toBe(303);
      expect(signedIn.location).toBe(`${server.url}/account/edit?%E5%90%8D=%E5%80%A4`);
    });

    it('signs up and redirects to the percent-encoded path', async () => {
      const browser = new Browser(server.url);
      const form = await browser.get(
        `/signup?return_to=${encodeURIComponent('/account?from=注册')}`,
      );
      const name = `rt_${factory.name}`;
      const created = await browser.submit(
        form,
        { Username: name, Email: `${name}@example.com`, Password: 'correct horse battery' },
        'Create account',
      );
      expect(created.status, created.text).toBe(303);
      expect(created.location).toBe(`${server.url}/account?from=%E6%B3%A8%E5%86%8C`);
    });
  });
}
