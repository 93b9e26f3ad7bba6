import { type RateLimiterAbstract, RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { addressKey } from '../lib/address-key.js';
import type { Counters } from '../store/counters.js';
import type { EventBus } from '../store/events.js';

export interface ClientFailureLimits {
  /** Failures from one address, or of one public client from one address (0: no limit). */
  ipMaxFailures: number;
  /** Failed authentications of one client id (0: no limit). */
  clientMaxFailures: number;
  window: number;
  block: number;
}

/**
 * What each failure counts against. A failed authentication (`invalid_client`, the guessing
 * RFC 6749 §10.10 names) counts against the address and the client. A bad code or token
 * (`invalid_grant`, `unauthorized_client`) counts only for a public client, whose id is all
 * anyone needs to try, and only against that address and client together: a confidential client
 * that proved its secret is guessing nothing, and an app server presenting stale refresh tokens
 * must not be shut out by them.
 */
const AUTH_FAILURES = new Set(['invalid_client']);
const GRANT_FAILURES = new Set(['invalid_grant', 'unauthorized_client']);

/**
 * The limits on failed requests at /token, /par, /introspect and /revoke, per
 * address and per client. Only failures are counted (a round trip to Redis,
 * on a path that has already failed); whether a request is refused is
 * answered from this process's memory, so a successful request costs one
 * comparison while nothing is blocked. A block begun here reaches the other
 * instances through the event bus.
 */
export class ClientFailures {
  private readonly byAddress?: RateLimiterAbstract;
  private readonly byClient?: RateLimiterAbstract;
  /** Blocks known here; read through `until` first, so an empty list costs nothing. */
  private readonly blocks = new RateLimiterMemory({ keyPrefix: 'blocks', points: 1, duration: 1 });
  /** No block known here lasts beyond this time (ms). */
  private until = 0;

  constructor(
    counters: Counters,
    private readonly limits: ClientFailureLimits,
    private readonly events: EventBus,
  ) {
    const { window: duration, block: blockDuration } = limits;
    if (limits.ipMaxFailures > 0) {
      this.byAddress = counters.counter({
        name: 'client:ip',
        points: limits.ipMaxFailures,
        duration,
        blockDuration,
      });
    }
    if (limits.clientMaxFailures > 0) {
      this.byClient = counters.counter({
        name: 'client:id',
        points: limits.clientMaxFailures,
        duration,
        blockDuration,
      });
    }
    events.subscribe((event) => {
      if (event.type === 'limit.blocked' && typeof event.key === 'string') {
        void this.remember(event.key, Math.min(Number(event.ms), limits.block * 1000));
      }
    });
  }

  /** Whether any address or client is blocked here now: when not, nothing else need be asked. */
  blocking(): boolean {
    return this.until > Date.now();
  }

  /**
   * Seconds for which this request is refused; 0 when it may go on. A blocked address (or, for a
   * public client, address and client together) is refused outright. A client whose
   * authentication failed too often anywhere is refused only if this request's credentials fail
   * too (`verifies`): its id is public, so anyone could start that block, and a client that
   * proves its secret must never be shut out by them.
   */
  async refusedFor(
    address: string,
    clientId: string | undefined,
    verifies: () => Promise<boolean>,
  ): Promise<number> {
    if (!this.blocking()) return 0;
    const ip = addressKey(address);
    const [byIp, byPair, byClient] = await Promise.all([
      this.blocks.get(`ip:${ip}`),
      clientId === undefined ? null : this.blocks.get(`pair:${ip}:${clientId}`),
      clientId === undefined ? null : this.blocks.get(`client:${clientId}`),
    ]);
    const outright = Math.max(blockedMs(byIp), blockedMs(byPair));
    if (outright > 0) return seconds(outright);
    const client = blockedMs(byClient);
    if (client > 0 && !(await verifies())) return seconds(client);
    return 0;
  }

  /**
   * Counts a request that failed with the OAuth `error`; blocks what reached its limit.
   * `publicClient`: the request named a client without a secret.
   */
  async failed(
    error: string,
    address: string,
    clientId: string | undefined,
    publicClient: boolean,
  ): Promise<void> {
    const counting: Promise<void>[] = [];
    const ip = addressKey(address);
    if (AUTH_FAILURES.has(error)) {
      if (this.byAddress) counting.push(this.count(this.byAddress, `ip:${ip}`));
      if (this.byClient && clientId !== undefined) {
        counting.push(this.count(this.byClient, `client:${clientId}`));
      }
    } else if (GRANT_FAILURES.has(error) && publicClient && clientId !== undefined) {
      if (this.byAddress) counting.push(this.count(this.byAddress, `pair:${ip}:${clientId}`));
    }
    await Promise.all(counting);
  }

  private async count(counter: RateLimiterAbstract, key: string): Promise<void> {
    let ms: number;
    try {
      const counted = await counter.consume(key);
      if (counted.consumedPoints < counter.points) return;
      // The failure that reaches the limit begins the block.
      await counter.block(key, this.limits.block);
      ms = this.limits.block * 1000;
    } catch (refusal) {
      // Blocked already, by another instance whose word has not arrived yet.
      if (!(refusal instanceof RateLimiterRes)) throw refusal;
      ms = refusal.msBeforeNext;
    }
    await this.remember(key, ms);
    this.events.publish({ type: 'limit.blocked', key, ms });
  }

  private async remember(key: string, ms: number): Promise<void> {
    if (!(ms > 0)) return;
    this.until = Math.max(this.until, Date.now() + ms);
    await this.blocks.block(key, ms / 1000);
  }
}

const seconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000));

function blockedMs(res: RateLimiterRes | null): number {
  return res && res.consumedPoints > 1 ? res.msBeforeNext : 0;
}
