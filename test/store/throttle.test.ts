import { describe, expect, it } from 'vitest';
import { touchThrottle } from '../../src/store/kysely/throttle.js';

describe('touchThrottle', () => {
  it('lets one write per id through in each period', () => {
    const worth = touchThrottle(60);
    expect(worth('a', 1_000)).toBe(true);
    expect(worth('a', 1_059)).toBe(false);
    expect(worth('a', 1_060)).toBe(true);
  });

  it('past its bound forgets the least recently seen ids, not the one in use', () => {
    const worth = touchThrottle(60, 10);
    expect(worth('busy', 1_000)).toBe(true);
    for (let i = 0; i < 100; i++) {
      worth(`other${i}`, 1_000);
      if (i % 5 === 0) expect(worth('busy', 1_000)).toBe(false);
    }
    expect(worth('other0', 1_000)).toBe(true);
    expect(worth('other99', 1_000)).toBe(false);
  });
});
