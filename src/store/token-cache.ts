import { LRUCache } from 'lru-cache';
import type { Store, TokenRecord, User } from './types.js';

type Found = { token: TokenRecord; user: User | undefined } | undefined;

/**
 * Access-token records with their person, kept in process for `ttlMs`.
 *
 * A resource server presents the same access token on every call it serves
 * while the token lives, and each presentation at /introspect or /userinfo
 * was one database read. This keeps the answer of that read briefly, so that
 * read happens at most once every `ttlMs` per token and instance.
 *
 * What is kept never outlives a change seen by this instance: every store
 * write that could end or change a token or its person forgets everything
 * (withTokenCache below decides which, refusing by default). Other instances
 * forget at once when an event bus relays it, and after `ttlMs` without one:
 * the propagation delay RFC 7009 §2.2 allows between the servers of one
 * authorization server.
 *
 * Only what cannot turn stale unseen is kept: active (unrevoked) access tokens,
 * and ids with no record, which a write creating them would have cleared.
 * Refresh tokens are spent on use and are never kept. Callers still check
 * expiry on every use; kept objects are shared and must not be changed.
 *
 * At most `maxEntries` are kept: past it, the least recently used goes, so a
 * flood of distinct ids cannot push out the tokens in steady use. Each entry
 * carries its own `until`, counted from the start of the read that filled it,
 * rather than lru-cache's `ttl`, which counts from the write, treats 0 as
 * "forever" and a start time of 0 as "no lifetime".
 */
export class TokenCache {
  private readonly entries: LRUCache<string, { found: Found; until: number }>;
  /** Moves on every forget(), so a read that raced a write does not keep what it read. */
  private generation = 0;

  constructor(
    private readonly ttlMs = 2_000,
    private readonly now: () => number = Date.now,
    /** Tells other instances; set when an event bus connects them. */
    private readonly broadcast: () => void = () => {},
    maxEntries = 10_000,
  ) {
    this.entries = new LRUCache({ max: maxEntries });
  }

  async findWithUser(id: string, load: (id: string) => Promise<Found>): Promise<Found> {
    const now = this.now();
    const hit = this.entries.get(id);
    if (hit && hit.until > now) return hit.found;
    const generation = this.generation;
    const found = await load(id);
    const keep =
      found === undefined || (found.token.kind === 'access' && found.token.revokedAt === null);
    if (keep && generation === this.generation && this.ttlMs > 0) {
      this.entries.set(id, { found, until: now + this.ttlMs });
    }
    return found;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Forgets everything, here and in every other instance. */
  invalidate(): void {
    this.forget();
    this.broadcast();
  }

  /** Forgets everything in this instance only: what another instance's invalidate() does here. */
  forget(): void {
    this.entries.clear();
    this.generation += 1;
  }
}

/**
 * Writes that cannot end or change an access token or its person, nor a record the caches
 * beside it keep (sign-in-cache.ts: sessions, persons, grants), so need not clear them: new
 * records (which no cached lookup can have seen, misses are kept only for ids nobody was given
 * yet), the spending of codes and refresh tokens (never kept) with the new tokens stored in the
 * same commit, and bookkeeping. Every other method that is not a read clears them, including
 * methods added later; so do sessions.renew (a new cookie for a kept session) and grants.upsert
 * and grants.change (new scopes for a kept grant), which leave tokens as they are.
 */
const HARMLESS_WRITES: Partial<Record<keyof Store, readonly string[]>> = {
  users: ['create'],
  // A second factor is kept by no cache; the person's `two_factor` flag changes by users.update.
  totp: ['enable', 'acceptStep', 'disable', 'replaceRecoveryCodes', 'useRecoveryCode'],
  externalIdentities: ['link'],
  // A passkey is no session, token or grant; the person's two_factor flag changes by users.update.
  passkeys: ['add', 'updateAfterUse', 'rename', 'remove'],
  clients: ['create'],
  // APIs are cached by domain/apis.ts, not here; a new or renamed API changes no token.
  apis: ['create', 'update'],
  grants: ['touch'],
  codes: ['save', 'consume', 'redeem'],
  // Device codes are never cached; redeem stores new tokens in the commit that spends the code.
  deviceCodes: ['save', 'decide', 'recordPoll', 'redeem'],
  tokens: ['save', 'saveAll', 'rotate'],
  sessions: ['create', 'touch', 'addClient'],
  markers: ['use'],
  // Pushed authorization requests are kept by no cache.
  pushedRequests: ['save', 'start', 'resume', 'finish'],
  // Initial access tokens and registration records are kept by no cache and end no token.
  registrations: [
    'createInitialToken',
    'spendInitialToken',
    'deleteInitialToken',
    'saveRecord',
    'setApplicationType',
  ],
  audit: ['record'],
  // E-mailed codes are kept by no cache and end no token.
  emailCodes: ['replace', 'addAttempt', 'consume', 'consumeLink'],
  // The development outbox and the browsers people signed in from touch no token or session.
  outbox: ['add'],
  browsers: ['see'],
  // Reset links are kept by no cache; spending one changes no token or person by itself.
  passwordResets: ['save', 'consume', 'endAllOfUser'],
};

const READ = /^(find|list|count|get|ping$)/;

type Method = (...args: unknown[]) => Promise<unknown>;

function guarded<T extends object>(part: T, harmless: readonly string[], clear: () => void): T {
  const copy: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(part)) {
    if (typeof value !== 'function' || READ.test(name) || harmless.includes(name)) {
      copy[name] = typeof value === 'function' ? value.bind(part) : value;
      continue;
    }
    const method = value as Method;
    copy[name] = async (...args: unknown[]) => {
      try {
        return await method.apply(part, args);
      } finally {
        // After the write, whether or not it succeeded: a failed write may have changed something.
        clear();
      }
    };
  }
  return copy as T;
}

/**
 * `store` with token lookups served from `cache`, and writes that matter clearing it and the
 * caches `also` (in this instance; the others hear it through `cache`'s broadcast).
 */
export function withTokenCache(
  store: Store,
  cache: TokenCache,
  also: readonly { forget(): void }[] = [],
): Store {
  const clear = () => {
    for (const other of also) other.forget();
    cache.invalidate();
  };
  const tokens = guarded(store.tokens, HARMLESS_WRITES.tokens ?? [], clear);
  const findWithUser = store.tokens.findWithUser.bind(store.tokens);
  tokens.findWithUser = (id) => cache.findWithUser(id, findWithUser);
  const parts = [
    'users',
    'totp',
    'externalIdentities',
    'passkeys',
    'clients',
    'apis',
    'grants',
    'codes',
    'deviceCodes',
    'sessions',
    'keys',
    'markers',
    'pushedRequests',
    'registrations',
    'audit',
    'emailCodes',
    'outbox',
    'browsers',
    'passwordResets',
  ] as const;
  const wrapped = guarded(store, [], clear);
  return {
    ...wrapped,
    dialect: store.dialect,
    // Closing changes no data.
    close: () => store.close(),
    tokens,
    ...Object.fromEntries(
      parts.map((part) => [part, guarded(store[part], HARMLESS_WRITES[part] ?? [], clear)]),
    ),
  } as Store;
}
