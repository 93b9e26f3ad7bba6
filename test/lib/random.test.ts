import { describe, expect, it } from 'vitest';
import { randomId, randomToken } from '../../src/lib/random.js';

describe('random identifiers', () => {
  it('never start with "-", which a command line reads as an option', () => {
    // About one base64url id in 64 would; 5,000 draws all but surely include such draws.
    const ids = Array.from({ length: 5_000 }, () => randomId());
    expect(ids.filter((id) => id.startsWith('-'))).toEqual([]);
    expect(ids.some((id) => id.startsWith('_'))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids.slice(0, 100)) expect(id).toMatch(/^[\w-]{22}$/);
  });

  it('tokens carry their bytes as base64url', () => {
    expect(randomToken(32)).toMatch(/^[\w-]{43}$/);
  });
});
