import { describe, expect, it } from 'vitest';
import { loginUrl } from '../../src/ui/pages/login.js';
import { returnToOrDefault, safeReturnTo } from '../../src/ui/pages/return-to.js';

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
  ])('refuses %s', (_name, value) => {
    expect(safeReturnTo(value)).toBeUndefined();
    expect(returnToOrDefault(value)).toBe('/account');
  });

  it('refuses anything that is not a string', () => {
    expect(safeReturnTo(['/a', '/b'])).toBeUndefined();
    expect(safeReturnTo(undefined)).toBeUndefined();
  });

  it('builds the sign-in URL with a readable, encoded return_to', () => {
    expect(loginUrl('/account')).toBe('/login?return_to=/account');
    expect(loginUrl('/authorize?a=1&b=2')).toBe('/login?return_to=/authorize%3Fa%3D1%26b%3D2');
    expect(new URL(loginUrl('/authorize?a=1&b=2'), 'http://x').searchParams.get('return_to')).toBe(
      '/authorize?a=1&b=2',
    );
    expect(loginUrl('//evil.example')).toBe('/login');
  });
});
