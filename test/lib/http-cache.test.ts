import { describe, expect, it } from 'vitest';
import { cacheLifetime } from '../../src/lib/http-cache.js';

const bounds = { fallback: 300, min: 30, max: 86_400 };
const now = Date.parse('2026-12-04T12:00:00Z');

describe('cacheLifetime', () => {
  it('takes max-age, clamped to the bounds', () => {
    expect(cacheLifetime({ 'cache-control': 'public, max-age=600' }, now, bounds)).toBe(600);
    expect(cacheLifetime({ 'cache-control': 'max-age=5' }, now, bounds)).toBe(30);
    expect(cacheLifetime({ 'cache-control': 'max-age=31536000' }, now, bounds)).toBe(86_400);
  });

  it('answers 0 (fetch at each use) for no-store, no-cache, max-age=0 and an invalid max-age', () => {
    expect(cacheLifetime({ 'cache-control': 'no-store' }, now, bounds)).toBe(0);
    expect(cacheLifetime({ 'cache-control': 'max-age=600, no-cache' }, now, bounds)).toBe(0);
    expect(cacheLifetime({ 'cache-control': 'max-age=0' }, now, bounds)).toBe(0);
    expect(cacheLifetime({ 'cache-control': 'max-age=soon' }, now, bounds)).toBe(0);
  });

  it('falls back to Expires (against Date, else now), max-age winning over it', () => {
    const expires = new Date(now + 3_600_000).toUTCString();
    expect(cacheLifetime({ expires }, now, bounds)).toBe(3_600);
    const date = new Date(now - 1_800_000).toUTCString();
    expect(cacheLifetime({ expires, date }, now, bounds)).toBe(5_400);
    expect(cacheLifetime({ expires, 'cache-control': 'max-age=60' }, now, bounds)).toBe(60);
    expect(cacheLifetime({ expires: '0' }, now, bounds)).toBe(0);
  });

  it('uses the fallback when the answer says nothing', () => {
    expect(cacheLifetime({}, now, bounds)).toBe(300);
    expect(cacheLifetime({ 'cache-control': 'public' }, now, bounds)).toBe(300);
  });
});
