import { describe, expect, it } from 'vitest';
import { checkRedirectUri, checkScopes } from '../../src/domain/clients.js';
import { ValidationError } from '../../src/domain/errors.js';

describe('redirect URI rules', () => {
  it.each([
    'https://app.example.com/callback',
    'https://app.example.com/callback?tenant=1',
    'http://localhost:3000/callback',
    'http://127.0.0.1:8080/cb',
    'http://[::1]:8080/cb',
    'com.example.app:/oauth2redirect',
    'com.example.app://callback',
  ])('accepts %s', (uri) => {
    expect(checkRedirectUri('redirect_uris', uri)).toBe(uri);
  });

  it.each([
    ['relative/path', 'absolute'],
    ['/callback', 'absolute'],
    ['https://app.example.com/cb#frag', 'fragment'],
    ['http://app.example.com/cb', 'https'],
    ['http://192.168.1.10/cb', 'https'],
    ['javascript:alert(1)', 'not allowed'],
    ['data:text/html,hi', 'not allowed'],
    ['file:///etc/passwd', 'not allowed'],
    ['myapp:/cb', 'private-use'],
    [`https://app.example.com/${'a'.repeat(2100)}`, 'longer'],
  ])('refuses %s', (uri, reason) => {
    expect(() => checkRedirectUri('redirect_uris', uri)).toThrow(ValidationError);
    expect(() => checkRedirectUri('redirect_uris', uri)).toThrow(new RegExp(reason));
  });
});

describe('scope syntax (RFC 6749 §3.3)', () => {
  it('accepts custom scopes such as api:read', () => {
    expect(checkScopes(['openid', 'api:read', 'api:write', 'read'])).toEqual([
      'openid',
      'api:read',
      'api:write',
      'read',
    ]);
  });

  it.each(['has space', 'quote"d', 'back\\slash', '', 'é'])('refuses %j', (scope) => {
    expect(() => checkScopes([scope])).toThrow(ValidationError);
  });

  it('drops duplicates', () => {
    expect(checkScopes(['a', 'a', 'b'])).toEqual(['a', 'b']);
  });
});
