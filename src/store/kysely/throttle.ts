import { LRUCache } from 'lru-cache';

/**
 * Decides whether a "last used" time is worth writing: at most once per
 * `seconds` for each id, so that a client refreshing or exchanging codes in a
 * loop does not turn every token request into one more database write. The
 * account page shows these times to the minute. At most `max` ids are
 * remembered, the least recently seen forgotten first: a forgotten id is only
 * written once more.
 */
export function touchThrottle(seconds = 60, max = 50_000): (id: string, now: number) => boolean {
  const written = new LRUCache<string, number>({ max });
  return (id, now) => {
    const last = written.get(id);
    if (last !== undefined && now >= last && now - last < seconds) return false;
    written.set(id, now);
    return true;
  };
}
