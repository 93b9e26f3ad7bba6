import type { Api, ApiStore } from '../store/types.js';

/** Every API, indexed the two ways requests look them up. */
export interface ApiSnapshot {
  readonly all: readonly Api[];
  readonly byIdentifier: ReadonlyMap<string, Api>;
  /** By the client each introspects with. */
  readonly byClientId: ReadonlyMap<string, Api>;
}

/**
 * The registered APIs, all of them, kept in process: an organisation has a handful, the token
 * endpoint needs them on every request with `resource`, and they change rarely. The list is read
 * once; a change made through this instance (or told by another, through the event bus) drops
 * it, so the next request reads it again. Changes made elsewhere without an event bus (the CLI,
 * with no Redis) are seen after `ttlMs`: the list is then reloaded in the background while
 * requests keep using the one they have, so the hot path never waits on the database for it.
 */
export class ApiCache {
  private snapshot: ApiSnapshot | undefined;
  private loadedAt = 0;
  private loading: Promise<ApiSnapshot> | undefined;
  /** Bumped by forget(): a load that started before it does not keep its (older) answer. */
  private generation = 0;

  constructor(
    private readonly store: ApiStore,
    private readonly ttlMs = 5_000,
    private readonly now: () => number = Date.now,
    /** Tells other instances; set when an event bus connects them. */
    private readonly broadcast: () => void = () => {},
  ) {}

  /** The APIs as this instance knows them; waits for the database only when it knows none yet. */
  async get(): Promise<ApiSnapshot> {
    const snapshot = this.snapshot;
    if (snapshot === undefined) return this.load();
    if (this.now() - this.loadedAt >= this.ttlMs && this.loading === undefined) {
      this.load().catch(() => {
        // Kept as it was; the next request tries again.
      });
    }
    return snapshot;
  }

  /** Forgets the list, here and in every other instance. */
  invalidate(): void {
    this.forget();
    this.broadcast();
  }

  /** Forgets in this instance only: what another instance's invalidate() does here. */
  forget(): void {
    this.snapshot = undefined;
    this.loading = undefined;
    this.generation += 1;
  }

  private load(): Promise<ApiSnapshot> {
    if (this.loading) return this.loading;
    const generation = this.generation;
    const started = this.now();
    const loading = this.store.list().then(
      (apis) => {
        const snapshot: ApiSnapshot = {
          all: apis,
          byIdentifier: new Map(apis.map((api) => [api.identifier, api])),
          byClientId: new Map(apis.map((api) => [api.clientId, api])),
        };
        if (generation === this.generation) {
          this.snapshot = snapshot;
          this.loadedAt = started;
          this.loading = undefined;
        }
        return snapshot;
      },
      (error: unknown) => {
        if (generation === this.generation) this.loading = undefined;
        throw error;
      },
    );
    this.loading = loading;
    return loading;
  }
}
