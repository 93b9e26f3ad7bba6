import { describe, expect, it } from 'vitest';
import { ClientCache } from '../../src/domain/client-cache.js';
import type { Client, ClientStore } from '../../src/store/types.js';

/** A client store that knows `known` and counts its reads by id. */
function countingStore(known: readonly string[]) {
  const reads = new Map<string, number>();
  const store = {
    async findById(id: string) {
      reads.set(id, (reads.get(id) ?? 0) + 1);
      return known.includes(id) ? ({ id } as Client) : undefined;
    },
  } as unknown as ClientStore;
  return { store, reads };
}

describe('ClientCache', () => {
  it('answers a client from memory until the time to live is over', async () => {
    const { store, reads } = countingStore(['app']);
    let clock = 1_000_000;
    const cache = new ClientCache(store, 5_000, () => clock);
    expect((await cache.get('app'))?.id).toBe('app');
    clock += 4_999;
    await cache.get('app');
    expect(reads.get('app')).toBe(1);
    clock += 1;
    await cache.get('app');
    expect(reads.get('app')).toBe(2);
  });

  it('keeps unknown ids too, so repeating one does not reach the database', async () => {
    const { store, reads } = countingStore([]);
    const cache = new ClientCache(store, 5_000, () => 0);
    expect(await cache.get('nobody')).toBeUndefined();
    expect(await cache.get('nobody')).toBeUndefined();
    expect(reads.get('nobody')).toBe(1);
  });

  it('stays within its bound: a flood of unknown ids pushes out the least recently used, not a client in use', async () => {
    const { store, reads } = countingStore(['app']);
    const cache = new ClientCache(store, 5_000, () => 0, undefined, 100);
    await cache.get('app');
    for (let i = 0; i < 1_000; i++) {
      await cache.get(`flood${i}`);
      if (i % 50 === 0) await cache.get('app');
    }
    expect(reads.get('app')).toBe(1);
    await cache.get('flood0');
    expect(reads.get('flood0')).toBe(2);
    await cache.get('flood999');
    expect(reads.get('flood999')).toBe(1);
  });

  it('forget() drops one client or all of them, without telling anyone; invalidate() tells', async () => {
    const { store, reads } = countingStore(['a', 'b']);
    const told: (string | undefined)[] = [];
    const cache = new ClientCache(
      store,
      5_000,
      () => 0,
      (id) => told.push(id),
    );
    await cache.get('a');
    await cache.get('b');
    cache.forget('a');
    await cache.get('a');
    await cache.get('b');
    expect([reads.get('a'), reads.get('b')]).toEqual([2, 1]);
    cache.forget();
    await cache.get('b');
    expect(reads.get('b')).toBe(2);
    expect(told).toEqual([]);
    cache.invalidate('a');
    cache.invalidate();
    expect(told).toEqual(['a', undefined]);
  });
});
