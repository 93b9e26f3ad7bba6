import { LRUCache } from 'lru-cache';
import type { AppContext } from '../context.js';
import { cacheLifetime, type LifetimeBounds } from '../lib/http-cache.js';
import type { Client } from '../store/types.js';
import type { ClientMetadata } from './client-rules.js';
import {
  documentUrlProblem,
  type HostPolicy,
  hostProblem,
  parseHostList,
} from './metadata-document.js';
import { fetchDocument, MetadataDocumentError, readDocument } from './metadata-document-fetch.js';

export { MetadataDocumentError };

export interface DocumentLimits {
  /** The whole fetch's deadline. */
  timeoutMs: number;
  /** The largest document read; a longer one is refused. */
  maxBytes: number;
  /** How long a fetched document is used, from its caching headers, within these bounds (seconds). */
  lifetime: LifetimeBounds;
  /** How long a failure is answered again before the URL is tried anew (seconds). */
  failureSeconds: number;
  /** How many documents (and failures) are kept, the least recently used going first. */
  maxEntries: number;
  /**
   * How many different documents may be in flight at once: a flood of made-up URLs (each one a
   * fetch) cannot turn Tessera into a crawler holding thousands of connections open.
   */
  maxConcurrentFetches: number;
  /** How many of those may be on one host: one slow host cannot take every slot. */
  maxConcurrentFetchesPerHost: number;
  /**
   * How long after its document was last accepted (the row's updatedAt, seconds) a client keeps
   * working from that record when its document cannot be fetched now (limits, timeout, error,
   * an answer that is not acceptable).
   */
  graceSeconds: number;
  /**
   * How long a client no one consented to (no grant, code or token) is kept after its document
   * was last accepted (seconds), before the purge job deletes it: naming a URL makes a row, so
   * the rows of made-up or abandoned documents must not pile up. Longer than the grace time, so
   * a client in use is never purged.
   */
  unusedSeconds: number;
}

/**
 * The limits of issue 13: 5 s and 64 KiB per document; a document's own Cache-Control or Expires
 * decides how long it is used, held between 30 s and 24 h (5 min when it says nothing); a failure
 * is answered again for 10 s, so a dead or hostile URL is not fetched on every request; at most
 * 32 different documents are fetched at once per instance, 4 of one host; a client accepted
 * before works from its last accepted record for 48 h (longer than any document is cached) while
 * its document cannot be had; one that no one consented to is purged 7 days after that.
 */
export const DOCUMENT_LIMITS: DocumentLimits = {
  timeoutMs: 5_000,
  maxBytes: 64 * 1024,
  lifetime: { fallback: 300, min: 30, max: 86_400 },
  failureSeconds: 10,
  maxEntries: 1_000,
  maxConcurrentFetches: 32,
  maxConcurrentFetchesPerHost: 4,
  graceSeconds: 2 * 86_400,
  unusedSeconds: 7 * 86_400,
};

/** A failure keeps the client last accepted, if any, to serve during the grace time. */
type Entry =
  | { client: Client; until: number }
  | { problem: string; until: number; accepted: Client | undefined };

/** How resolve() treats a stale document of a client accepted before. */
export interface ResolveOptions {
  /**
   * Answer the last accepted record at once and fetch the document in the background (client
   * authentication at /token: a refresh must not wait on, or fail with, the client's web site).
   * Without it (/authorize, /par), the document is fetched and waited for, and the record is
   * the answer only when the fetch cannot start or fails.
   */
  staleWhileRefreshing?: boolean;
}

/**
 * The clients that Client ID Metadata Documents describe
 * (draft-ietf-oauth-client-id-metadata-document): a client id that is an https URL is fetched
 * (lib/outbound.ts: public addresses only, checked on the addresses connected to; loopback only
 * when TESSERA_CIMD_ALLOW_LOOPBACK is set; no redirect followed), checked (metadata-document.ts)
 * and kept as a clients row with registration `metadata_document`, so grants, tokens,
 * "Connected apps" and the admin API treat it as any other client. A document is used for as
 * long as its caching headers say (within DocumentLimits), in a bounded LRU cache, and
 * concurrent requests for one URL share one fetch. Fetches in flight are limited per instance
 * and per host; a client accepted before outlives a fetch that cannot start or fails by
 * `graceSeconds` (its row's updatedAt records each acceptance), so a hostile slow host cannot
 * lock other hosts' clients out.
 */
export class MetadataDocuments {
  readonly limits: DocumentLimits;
  private readonly entries: LRUCache<string, Entry>;
  private readonly pending = new Map<string, Promise<Client>>();
  /** Fetches in flight per host name. */
  private readonly perHost = new Map<string, number>();
  private readonly hosts: HostPolicy;

  constructor(
    private readonly ctx: Pick<AppContext, 'config' | 'store' | 'clock' | 'clients' | 'log'>,
    limits: Partial<DocumentLimits> = {},
  ) {
    this.limits = { ...DOCUMENT_LIMITS, ...limits };
    this.entries = new LRUCache({ max: this.limits.maxEntries });
    this.hosts = {
      allow: parseHostList(ctx.config.cimdAllowHosts),
      deny: parseHostList(ctx.config.cimdDenyHosts),
    };
  }

  /** The client the document at `url` describes; throws MetadataDocumentError saying why not. */
  async resolve(url: string, options: ResolveOptions = {}): Promise<Client> {
    const hit = this.entries.get(url);
    if (hit && hit.until > this.ctx.clock.now()) {
      if ('client' in hit) return hit.client;
      const kept = this.withinGrace(hit.accepted);
      if (kept) return kept;
      throw new MetadataDocumentError(hit.problem);
    }
    // A host denied, or a URL refused, loses its grace too.
    this.refuseUrl(url);
    if (options.staleWhileRefreshing) {
      const kept = await this.lastAccepted(url, hit);
      if (kept) {
        this.start(url)?.catch((error: unknown) => {
          if (!(error instanceof MetadataDocumentError))
            this.ctx.log.warn(
              { err: error, clientId: url },
              'client metadata document refresh failed',
            );
        });
        return kept;
      }
    }
    const fetching = this.start(url);
    if (!fetching) {
      const kept = await this.lastAccepted(url, hit);
      if (kept) return kept;
      // Not remembered as this document's failure: it says nothing about the document.
      throw new MetadataDocumentError(
        'too many client metadata documents are being fetched at once; try again shortly',
      );
    }
    return fetching;
  }

  /** The fetch of `url` in flight, joined or started; undefined when the limits forbid one now. */
  private start(url: string): Promise<Client> | undefined {
    const joined = this.pending.get(url);
    if (joined) return joined;
    const host = new URL(url).hostname;
    const onHost = this.perHost.get(host) ?? 0;
    if (
      this.pending.size >= this.limits.maxConcurrentFetches ||
      onHost >= this.limits.maxConcurrentFetchesPerHost
    )
      return undefined;
    this.perHost.set(host, onHost + 1);
    const fetching = this.load(url).finally(() => {
      this.pending.delete(url);
      const left = (this.perHost.get(host) ?? 1) - 1;
      if (left > 0) this.perHost.set(host, left);
      else this.perHost.delete(host);
    });
    this.pending.set(url, fetching);
    return fetching;
  }

  /** `client` while its last acceptance is within the grace time, else undefined. */
  private withinGrace(client: Client | undefined): Client | undefined {
    if (!client) return undefined;
    const graceEnds = (client.updatedAt + this.limits.graceSeconds) * 1000;
    return graceEnds > this.ctx.clock.now() ? client : undefined;
  }

  /**
   * The client as last accepted, while within the grace time: the stale entry's, else the
   * clients row (another instance, or this one before a restart, accepted it).
   */
  private async lastAccepted(url: string, stale: Entry | undefined): Promise<Client | undefined> {
    const held = stale && ('client' in stale ? stale.client : stale.accepted);
    if (held) return this.withinGrace(held);
    const row = await this.ctx.store.clients.findById(url);
    return row?.registration === 'metadata_document' ? this.withinGrace(row) : undefined;
  }

  /**
   * What is known of `url` now, without fetching: its client while the document is fresh (or,
   * while it cannot be had, the client as last accepted within the grace time), null while it is
   * refused, undefined when nothing fresh is held.
   */
  cached(url: string): Client | null | undefined {
    const hit = this.entries.get(url);
    if (!hit || hit.until <= this.ctx.clock.now()) return undefined;
    if ('client' in hit) return hit.client;
    return this.withinGrace(hit.accepted) ?? null;
  }

  /** Whether documents are accepted from this URL at all (its form, scheme and host). */
  accepts(url: string): boolean {
    try {
      this.refuseUrl(url);
      return true;
    } catch {
      return false;
    }
  }

  /** Forgets one document, or all of them: the client changed (or was deleted) elsewhere. */
  forget(url?: string): void {
    if (url === undefined) this.entries.clear();
    else this.entries.delete(url);
  }

  /** Refuses, without fetching, a URL that is not a document URL or whose host is not allowed. */
  private refuseUrl(url: string): void {
    const problem = documentUrlProblem(url);
    if (problem) throw new MetadataDocumentError(problem);
    const target = new URL(url);
    const loopback = this.ctx.config.cimdAllowLoopback && isLoopbackName(target.hostname);
    if (target.protocol !== 'https:' && !loopback) {
      throw new MetadataDocumentError(
        'the client_id must be an https URL (http is allowed only on loopback, with TESSERA_CIMD_ALLOW_LOOPBACK)',
      );
    }
    const hostRefused = hostProblem(target.hostname, this.hosts);
    if (hostRefused) throw new MetadataDocumentError(hostRefused);
  }

  /**
   * Fetches, checks and keeps the document. A failure is remembered for `failureSeconds`; a
   * client accepted before is then answered from its last accepted record within the grace time.
   */
  private async load(url: string): Promise<Client> {
    const startedAt = this.ctx.clock.now();
    try {
      const answer = await fetchDocument(url, this.limits, this.ctx.config);
      const settings = readDocument(url, answer, this.ctx.config);
      const client = await this.persist(url, settings);
      const seconds = cacheLifetime(answer.headers, startedAt, this.limits.lifetime);
      this.entries.set(url, { client, until: startedAt + seconds * 1000 });
      return client;
    } catch (error) {
      if (!(error instanceof MetadataDocumentError)) throw error;
      // Only an outage keeps a client accepted before; a withdrawn or changed document does not.
      const accepted = error.transient
        ? await this.lastAccepted(url, this.entries.get(url))
        : undefined;
      const until = startedAt + this.limits.failureSeconds * 1000;
      this.entries.set(url, { problem: error.message, until, accepted });
      // The cause (a refused connection, a certificate) is for the operator, not the client.
      if (error.cause) this.ctx.log.warn({ err: error.cause, clientId: url }, error.message);
      if (accepted) {
        this.ctx.log.info(
          { clientId: url, problem: error.message },
          'client metadata document unavailable; using the client as last accepted',
        );
        return accepted;
      }
      throw error;
    }
  }

  /**
   * The document's client as a clients row: created on first sight, updated when the document
   * changed; when it did not, only its updatedAt is moved to now (one write per fetch, at most
   * one per URL every 30 s per instance), so the row records the last acceptance: the grace
   * time and the purge of unused clients count from it.
   */
  private async persist(url: string, settings: ClientMetadata): Promise<Client> {
    const { store, clients } = this.ctx;
    const now = Math.floor(this.ctx.clock.now() / 1000);
    let existing = await store.clients.findById(url);
    if (!existing) {
      try {
        const created = await store.clients.create({
          ...settings,
          id: url,
          secretHash: null,
          secretSealed: null,
          createdAt: now,
        });
        clients.invalidate(url);
        await store.audit.record({
          type: 'client.created',
          userId: null,
          clientId: url,
          ip: null,
          details: { name: created.name, registration: 'metadata_document' },
          createdAt: now,
        });
        return created;
      } catch (error) {
        // Another instance created it first (a duplicate key): go on with its row.
        existing = await store.clients.findById(url);
        if (!existing) throw error;
      }
    }
    if (existing.registration !== 'metadata_document') {
      throw new MetadataDocumentError('a client registered otherwise already has this client_id');
    }
    if (sameSettings(existing, settings)) {
      if (existing.updatedAt >= now) return existing;
      // No invalidation: the settings are unchanged, and other instances read it from the row.
      return (await store.clients.update(url, {}, now)) ?? existing;
    }
    const updated = await store.clients.update(url, settings, now);
    if (!updated)
      throw new MetadataDocumentError('the client was deleted while its document was read');
    clients.invalidate(url);
    return updated;
  }
}

function sameSettings(client: Client, settings: ClientMetadata): boolean {
  return (Object.keys(settings) as (keyof ClientMetadata)[]).every(
    (key) => JSON.stringify(client[key]) === JSON.stringify(settings[key]),
  );
}

function isLoopbackName(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
