import { LRUCache } from 'lru-cache';
import type { AppContext } from '../context.js';
import { cacheLifetime, type LifetimeBounds } from '../lib/http-cache.js';
import {
  getOutbound,
  InternalAddressError,
  type OutboundAnswer,
  TooLargeError,
} from '../lib/outbound.js';
import type { Client } from '../store/types.js';
import type { ClientMetadata } from './client-rules.js';
import { ValidationError } from './errors.js';
import {
  clientFromDocument,
  documentUrlProblem,
  type HostPolicy,
  hostProblem,
  parseHostList,
} from './metadata-document.js';

/** A client id whose metadata document could not be fetched or was not acceptable; the message says why. */
export class MetadataDocumentError extends Error {
  override name = 'MetadataDocumentError';
}

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
}

/**
 * The limits of issue 13: 5 s and 64 KiB per document; a document's own Cache-Control or Expires
 * decides how long it is used, held between 30 s and 24 h (5 min when it says nothing); a failure
 * is answered again for 10 s, so a dead or hostile URL is not fetched on every request; at most
 * 32 different documents are fetched at once per instance.
 */
export const DOCUMENT_LIMITS: DocumentLimits = {
  timeoutMs: 5_000,
  maxBytes: 64 * 1024,
  lifetime: { fallback: 300, min: 30, max: 86_400 },
  failureSeconds: 10,
  maxEntries: 1_000,
  maxConcurrentFetches: 32,
};

type Entry = { client: Client; until: number } | { problem: string; until: number };

/**
 * The clients that Client ID Metadata Documents describe
 * (draft-ietf-oauth-client-id-metadata-document): a client id that is an https URL is fetched
 * (lib/outbound.ts: public addresses only, checked on the addresses connected to; loopback only
 * when TESSERA_CIMD_ALLOW_LOOPBACK is set; no redirect followed), checked (metadata-document.ts)
 * and kept as a clients row with registration `metadata_document`, so grants, tokens,
 * "Connected apps" and the admin API treat it as any other client. A document is used for as
 * long as its caching headers say (within DocumentLimits), in a bounded LRU cache, and
 * concurrent requests for one URL share one fetch. Everything is async I/O: a slow document
 * holds up only the requests that name it.
 */
export class MetadataDocuments {
  readonly limits: DocumentLimits;
  private readonly entries: LRUCache<string, Entry>;
  private readonly pending = new Map<string, Promise<Client>>();
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
  async resolve(url: string): Promise<Client> {
    const hit = this.entries.get(url);
    if (hit && hit.until > this.ctx.clock.now()) {
      if ('client' in hit) return hit.client;
      throw new MetadataDocumentError(hit.problem);
    }
    this.refuseUrl(url);
    let pending = this.pending.get(url);
    if (!pending && this.pending.size >= this.limits.maxConcurrentFetches) {
      // Not remembered as this document's failure: it says nothing about the document.
      throw new MetadataDocumentError(
        'too many client metadata documents are being fetched at once; try again shortly',
      );
    }
    if (!pending) {
      pending = this.load(url).finally(() => this.pending.delete(url));
      this.pending.set(url, pending);
    }
    return pending;
  }

  /**
   * What is known of `url` now, without fetching: its client while the document is fresh, null
   * while it is refused, undefined when nothing fresh is held.
   */
  cached(url: string): Client | null | undefined {
    const hit = this.entries.get(url);
    if (!hit || hit.until <= this.ctx.clock.now()) return undefined;
    return 'client' in hit ? hit.client : null;
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

  private async load(url: string): Promise<Client> {
    const startedAt = this.ctx.clock.now();
    try {
      const answer = await this.fetch(url);
      const settings = this.read(url, answer);
      const client = await this.persist(url, settings);
      const seconds = cacheLifetime(answer.headers, startedAt, this.limits.lifetime);
      if (seconds > 0) this.entries.set(url, { client, until: startedAt + seconds * 1000 });
      else this.entries.delete(url);
      return client;
    } catch (error) {
      if (!(error instanceof MetadataDocumentError)) throw error;
      const until = startedAt + this.limits.failureSeconds * 1000;
      this.entries.set(url, { problem: error.message, until });
      throw error;
    }
  }

  private async fetch(url: string): Promise<OutboundAnswer> {
    let answer: OutboundAnswer;
    try {
      answer = await getOutbound(url, {
        timeoutMs: this.limits.timeoutMs,
        maxBytes: this.limits.maxBytes,
        externalOnly: true,
        allowLoopback: this.ctx.config.cimdAllowLoopback,
        // A development server on 127.0.0.1 has a self-signed certificate (the MCP SDK wants https).
        loopbackAnyCertificate: this.ctx.config.cimdAllowLoopback,
        accept: 'application/json',
      });
    } catch (error) {
      throw new MetadataDocumentError(this.fetchProblem(error), { cause: error });
    }
    if (answer.status >= 300 && answer.status < 400) {
      throw new MetadataDocumentError(
        `the client metadata document's URL answered a redirect (HTTP ${answer.status}): redirects are not followed`,
      );
    }
    if (answer.status !== 200) {
      throw new MetadataDocumentError(
        `the client metadata document's URL answered HTTP ${answer.status}`,
      );
    }
    return answer;
  }

  private fetchProblem(error: unknown): string {
    if (error instanceof InternalAddressError)
      return 'the client metadata document is on a loopback, private or link-local address, which Tessera does not fetch from';
    if (error instanceof TooLargeError)
      return `the client metadata document is larger than ${this.limits.maxBytes / 1024} KiB`;
    const timedOut =
      error instanceof Error &&
      (error.name === 'TimeoutError' ||
        error.name === 'AbortError' ||
        (error.cause as Error | undefined)?.name === 'TimeoutError');
    if (timedOut)
      return `the client metadata document did not arrive within ${this.limits.timeoutMs / 1000} s`;
    const code = (error as { code?: unknown }).code;
    return `the client metadata document could not be fetched${typeof code === 'string' ? ` (${code})` : ''}`;
  }

  private read(url: string, answer: OutboundAnswer): ClientMetadata {
    let value: unknown;
    try {
      value = JSON.parse(answer.body.toString('utf8'));
    } catch {
      throw new MetadataDocumentError('the client metadata document is not valid JSON');
    }
    try {
      return clientFromDocument(url, value, {
        production: this.ctx.config.nodeEnv === 'production',
      });
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      throw new MetadataDocumentError(
        `the client metadata document is not acceptable: ${error.message}`,
      );
    }
  }

  /**
   * The document's client as a clients row: created on first sight, updated when the document
   * changed, left alone (no write) when it did not.
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
    if (sameSettings(existing, settings)) return existing;
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
