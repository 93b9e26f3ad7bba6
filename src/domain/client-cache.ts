import { LRUCache } from 'lru-cache';
import type { Client, ClientStore } from '../store/types.js';
import { looksLikeDocumentUrl } from './metadata-document.js';
import type { MetadataDocuments } from './metadata-documents.js';

/**
 * Clients by id, kept in process: the token endpoint looks its client up on
 * every request, and clients change rarely. Every change made through this
 * instance calls invalidate(); changes made elsewhere (another instance, the
 * CLI) are seen after `ttlMs` at the latest, or at once when an event bus
 * relays the invalidation.
 *
 * At most `maxEntries` are kept, the least recently used going first, so a
 * flood of unknown ids cannot push out the clients in steady use. Each entry
 * carries its own `until` (see TokenCache for why not lru-cache's `ttl`).
 *
 * A client id that is an http(s) URL names a Client ID Metadata Document (metadata-documents.ts;
 * unknown when TESSERA_CIMD is off). Where a client starts something (/authorize, /par, client
 * authentication at /token, refreshes included), resolve() fetches its document again once the
 * cached one is stale. Where it only uses what it was given (userinfo, introspection, back-channel
 * logout, the abuse counters), get() answers the client as last accepted, and fetches nothing: a
 * stream of userinfo calls must not become a stream of fetches.
 */
export class ClientCache {
  private readonly entries: LRUCache<string, { client: Client | undefined; until: number }>;

  constructor(
    private readonly store: ClientStore,
    private readonly ttlMs = 5_000,
    private readonly now: () => number = Date.now,
    /** Tells other instances; set when an event bus connects them. */
    private readonly broadcast: (id: string | undefined) => void = () => {},
    maxEntries = 10_000,
  ) {
    this.entries = new LRUCache({ max: maxEntries });
  }

  /** The resolver of metadata-document client ids; undefined when they are turned off. */
  documents: MetadataDocuments | undefined;

  /** Sets (or, with undefined, removes) the resolver of metadata-document client ids. */
  useDocuments(documents: MetadataDocuments | undefined): void {
    this.documents = documents;
  }

  /**
   * The client, or undefined when there is none; a metadata-document client as last accepted
   * (undefined while its document is refused), without fetching it.
   */
  async get(id: string): Promise<Client | undefined> {
    if (looksLikeDocumentUrl(id)) {
      if (!this.documents) return undefined;
      const known = this.documents.cached(id);
      if (known !== undefined) return known ?? undefined;
      // A host denied since (TESSERA_CIMD_DENY_HOSTS) loses its tokens' use too.
      if (!this.documents.accepts(id)) return undefined;
      const stored = await this.stored(id);
      return stored?.registration === 'metadata_document' ? stored : undefined;
    }
    return this.stored(id);
  }

  /**
   * The client, its metadata document fetched first when the one held is stale; a refused
   * document throws MetadataDocumentError saying why (for /authorize and client authentication).
   */
  async resolve(id: string): Promise<Client | undefined> {
    if (looksLikeDocumentUrl(id)) return this.documents?.resolve(id);
    return this.stored(id);
  }

  private async stored(id: string): Promise<Client | undefined> {
    const hit = this.entries.get(id);
    const now = this.now();
    if (hit && hit.until > now) return hit.client;
    const client = await this.store.findById(id);
    // Unknown ids are cached too, briefly, so a flood of bad ids cannot reach the database each time.
    this.entries.set(id, { client, until: now + this.ttlMs });
    return client;
  }

  /** Forgets one client, or all of them, here and in every other instance. */
  invalidate(id?: string): void {
    this.forget(id);
    this.broadcast(id);
  }

  /** Forgets in this instance only: what another instance's invalidate() does here. */
  forget(id?: string): void {
    if (id === undefined) this.entries.clear();
    else this.entries.delete(id);
    this.documents?.forget(id);
  }
}
