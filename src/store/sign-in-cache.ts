import { LRUCache } from 'lru-cache';
import type { Grant, Session, Store, User } from './types.js';

interface Kept<T> {
  value: T;
  until: number;
}

/**
 * What a signed-in browser reads on every request, kept in process for `ttlMs`: its session by
 * cookie hash, its person, that person's grant to each app; and, until forgotten, the apps
 * already linked to each session (for back-channel logout), so that the link is written once.
 *
 * Each /authorize of a signed-in person with a remembered grant read the three records from the
 * database, and each page the first two. The discipline is the token cache's (token-cache.ts),
 * whose guard clears this cache too (withTokenCache's `also`): only what cannot turn stale unseen
 * is kept, that is records found (never misses, which a new session, person or grant would
 * make stale); every store write that could end or change one forgets everything, here and, by
 * the same `tokens.changed` event, in every other instance; a read that raced such a write is
 * not kept; and `ttlMs` (TESSERA_TOKEN_CACHE_SECONDS) bounds what another instance without an
 * event bus can leave unseen. Nothing is written from what is kept here: a grant is widened from
 * its row as stored (grants.change reads and locks it in the write).
 *
 * The session's expiry is checked on every use against the time asked about: what is kept is
 * the record, not the verdict. Its "last seen" is kept as written (seen()), so that the once a
 * minute write of domain/sessions.ts stays once a minute. Kept objects are shared and must not
 * be changed.
 */
export class SignInCache {
  /** By cookie hash. */
  private readonly sessions: LRUCache<string, Kept<Session>>;
  /** Session id → cookie hash, to find a kept session when it is touched (checked on use). */
  private readonly hashes: LRUCache<string, string>;
  private readonly users: LRUCache<string, Kept<User>>;
  /** By `${userId} ${clientId}`. */
  private readonly grants: LRUCache<string, Kept<Grant>>;
  /**
   * `${sessionId} ${clientId}` pairs known to be stored, with no time to live: a link goes only
   * with its session or its app, after which no code names the pair again.
   */
  private readonly links: LRUCache<string, true>;
  /** Moves on every forget(), so a read that raced a write does not keep what it read. */
  private generation = 0;

  /**
   * At most `maxEntries` of each kind are kept, the least recently used going first. Each entry
   * carries its own `until`, as in the token cache, rather than lru-cache's `ttl`.
   */
  constructor(
    private readonly ttlMs = 2_000,
    private readonly now: () => number = Date.now,
    maxEntries = 10_000,
  ) {
    this.sessions = new LRUCache({ max: maxEntries });
    this.hashes = new LRUCache({ max: maxEntries });
    this.users = new LRUCache({ max: maxEntries });
    this.grants = new LRUCache({ max: maxEntries });
    this.links = new LRUCache({ max: maxEntries * 5 });
  }

  /** The active session of a cookie hash at `now` (seconds), as findActiveBySecret answers. */
  async session(
    secretHash: string,
    now: number,
    load: () => Promise<Session | undefined>,
  ): Promise<Session | undefined> {
    const session = await this.through(this.sessions, secretHash, load, (found) =>
      this.hashes.set(found.id, secretHash),
    );
    return session && session.endedAt === null && session.expiresAt > now ? session : undefined;
  }

  user(id: string, load: () => Promise<User | undefined>): Promise<User | undefined> {
    return this.through(this.users, id, load);
  }

  grant(
    userId: string,
    clientId: string,
    load: () => Promise<Grant | undefined>,
  ): Promise<Grant | undefined> {
    return this.through(this.grants, `${userId} ${clientId}`, load);
  }

  /** A session's "last seen" was written: the kept record says so too. */
  seen(sessionId: string, at: number): void {
    const hash = this.hashes.get(sessionId);
    const kept = hash === undefined ? undefined : this.sessions.get(hash);
    if (kept && kept.value.id === sessionId) {
      kept.value = { ...kept.value, lastSeenAt: at };
    }
  }

  /** Writes a session's link to an app with `write`, unless it is known to be stored. */
  async link(sessionId: string, clientId: string, write: () => Promise<void>): Promise<void> {
    const pair = `${sessionId} ${clientId}`;
    if (this.links.has(pair)) return;
    const generation = this.generation;
    await write();
    if (generation === this.generation) this.links.set(pair, true);
  }

  get size(): number {
    return this.sessions.size + this.users.size + this.grants.size;
  }

  /** Forgets everything in this instance (the token cache's invalidate() and events call it). */
  forget(): void {
    this.sessions.clear();
    this.hashes.clear();
    this.users.clear();
    this.grants.clear();
    this.links.clear();
    this.generation += 1;
  }

  private async through<T>(
    map: LRUCache<string, Kept<T>>,
    key: string,
    load: () => Promise<T | undefined>,
    kept?: (value: T) => void,
  ): Promise<T | undefined> {
    const now = this.now();
    const hit = map.get(key);
    if (hit && hit.until > now) return hit.value;
    const generation = this.generation;
    const value = await load();
    if (value !== undefined && this.ttlMs > 0 && generation === this.generation) {
      map.set(key, { value, until: now + this.ttlMs });
      kept?.(value);
    }
    return value;
  }
}

/**
 * `store` with the reads of a signed-in browser served from `cache`. Put it over a store whose
 * writes clear `cache` (withTokenCache(store, tokenCache, [cache])): this only reads through.
 */
export function withSignInCache(store: Store, cache: SignInCache): Store {
  const { sessions, users, grants } = store;
  return {
    ...store,
    sessions: {
      ...sessions,
      findActiveBySecret: (secretHash, now) =>
        cache.session(secretHash, now, () => sessions.findActiveBySecret(secretHash, now)),
      async touch(id, now) {
        await sessions.touch(id, now);
        cache.seen(id, now);
      },
      addClient: (sessionId, clientId, now) =>
        cache.link(sessionId, clientId, () => sessions.addClient(sessionId, clientId, now)),
    },
    users: { ...users, findById: (id) => cache.user(id, () => users.findById(id)) },
    grants: {
      ...grants,
      find: (userId, clientId) =>
        cache.grant(userId, clientId, () => grants.find(userId, clientId)),
    },
  };
}
