import { describe, expect, it } from 'vitest';
import { isResourceUri } from '../../src/domain/resource-uri.js';

describe('isResourceUri (RFC 8707 §2)', () => {
  it.each([
    'https://api.example.com',
    'https://api.example.com/v1/',
    'http://127.0.0.1:8080/mcp',
    'urn:example:orders',
  ])('accepts the absolute URI %s', (value) => {
    expect(isResourceUri(value)).toBe(true);
  });

  it.each([
    '',
    '/orders',
    'orders',
    'https://api.example.com/#x',
    'https://api.example.com/a b',
    'https://api.example.com/\u0000',
    'https://api.example.com/\u007f',
    'https://api.example.com/\u2028',
    'javascript:alert(1)',
    'data:text/plain,x',
    `https://api.example.com/${'a'.repeat(2048)}`,
  ])('refuses %j', (value) => {
    expect(isResourceUri(value)).toBe(false);
  });
});
