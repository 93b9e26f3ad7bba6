import { createLocalJWKSet, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import { getOutbound, InternalAddressError, TooLargeError } from './outbound.js';

export interface RemoteJwksOptions {
  /** Deadline of one fetch. */
  timeoutMs: number;
  /** The largest JWK Set read; a longer answer is refused. */
  maxBytes: number;
  /** How long a fetched set is used before it is fetched again. */
  cacheMs: number;
  /** The least time between two fetches made because a key was not found. */
  cooldownMs: number;
  /** Refuse internal addresses (production, and clients not made by an admin). */
  externalOnly: boolean;
  /** With `externalOnly`, still allow loopback addresses (TESSERA_CIMD_ALLOW_LOOPBACK). */
  allowLoopback?: boolean;
  /** Why a fetched set is not acceptable (private keys, no keys…), or undefined. */
  validate: (value: unknown) => string | undefined;
  /** The set as it is to be matched against signatures (after validate). */
  prepare?: (value: JSONWebKeySet) => JSONWebKeySet;
  now: () => number;
  /** Hears each failed fetch once, with its `detail`, for the server's log. */
  onFailure?: (error: RemoteJwksError) => void;
}

/**
 * A JWK Set that could not be fetched or was not acceptable. The message, shown to the client,
 * says why in Tessera's words; `detail` holds the network or TLS error behind it, for the log
 * only: echoed to a client, it would tell what answers at an address (a scanning oracle).
 */
export class RemoteJwksError extends Error {
  override name = 'RemoteJwksError';
  constructor(
    message: string,
    readonly detail?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** What the client is told of a failed fetch: never the low-level error text. */
function fetchFailure(error: unknown, limits: { timeoutMs: number; maxBytes: number }): string {
  const cause = error instanceof Error ? (error.cause as Error | undefined) : undefined;
  if (error instanceof Error && (error.name === 'TimeoutError' || cause?.name === 'TimeoutError'))
    return `the client's jwks_uri could not be fetched: no answer within ${limits.timeoutMs} ms`;
  if (error instanceof InternalAddressError)
    return "the client's jwks_uri is on a loopback, private or link-local address, which Tessera does not fetch from";
  if (error instanceof TooLargeError)
    return `the JWK Set at the client's jwks_uri is larger than ${limits.maxBytes} bytes`;
  return "the client's jwks_uri could not be fetched";
}

/**
 * The JWK Set published at one URL (a client's `jwks_uri`), fetched when first needed, kept for
 * `cacheMs`, and fetched again before that only when an assertion names a key it does not hold
 * (the client rotated its keys), at most once per `cooldownMs`, so a stream of made-up `kid`s
 * cannot make Tessera fetch on every request. Concurrent requests share one fetch. The keys are
 * imported once per fetched set (jose's local JWK Set caches them).
 */
export class RemoteJwks {
  private keys: JWTVerifyGetKey | undefined;
  private fetchedAt = Number.NEGATIVE_INFINITY;
  private attemptedAt = Number.NEGATIVE_INFINITY;
  private pending: Promise<JWTVerifyGetKey> | undefined;
  private failure: RemoteJwksError | undefined;

  constructor(
    readonly url: string,
    private readonly options: RemoteJwksOptions,
  ) {}

  /**
   * The key set, fetched first if none is held or the held one is too old. When a fetch fails,
   * the set held before goes on serving; with none, the failure is answered again until the
   * cooldown has passed, so a dead or slow URL is not called on every request.
   */
  async current(): Promise<JWTVerifyGetKey> {
    const now = this.options.now();
    const coolingDown = now - this.attemptedAt < this.options.cooldownMs;
    if (this.keys && (now - this.fetchedAt < this.options.cacheMs || coolingDown)) return this.keys;
    if (!this.keys && coolingDown && this.failure && !this.pending) throw this.failure;
    try {
      return await this.fetch();
    } catch (error) {
      if (this.keys) return this.keys;
      throw error;
    }
  }

  /**
   * The key set fetched anew because a key was missing from it, or undefined when the last
   * fetch was within the cooldown (the set held is as fresh as it is allowed to be).
   */
  async refreshed(): Promise<JWTVerifyGetKey | undefined> {
    if (this.pending) return this.pending;
    if (this.options.now() - this.attemptedAt < this.options.cooldownMs) return undefined;
    return this.fetch();
  }

  private fetch(): Promise<JWTVerifyGetKey> {
    this.pending ??= this.load().then(
      (keys) => {
        this.pending = undefined;
        this.failure = undefined;
        return keys;
      },
      (error: RemoteJwksError) => {
        this.pending = undefined;
        this.failure = error;
        this.options.onFailure?.(error);
        throw error;
      },
    );
    return this.pending;
  }

  private async load(): Promise<JWTVerifyGetKey> {
    this.attemptedAt = this.options.now();
    let answer: { status: number; body: Buffer };
    try {
      answer = await getOutbound(this.url, {
        timeoutMs: this.options.timeoutMs,
        maxBytes: this.options.maxBytes,
        externalOnly: this.options.externalOnly,
        allowLoopback: this.options.allowLoopback ?? false,
        accept: 'application/jwk-set+json, application/json',
      });
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error);
      throw new RemoteJwksError(fetchFailure(error, this.options), detail, {
        cause: error,
      });
    }
    if (answer.status !== 200) {
      throw new RemoteJwksError(`the client's jwks_uri answered HTTP ${answer.status}`);
    }
    let value: unknown;
    try {
      value = JSON.parse(answer.body.toString('utf8'));
    } catch {
      throw new RemoteJwksError("the client's jwks_uri did not answer JSON");
    }
    const problem = this.options.validate(value);
    if (problem) throw new RemoteJwksError(`the JWK Set at the client's jwks_uri ${problem}`);
    const set = value as JSONWebKeySet;
    this.keys = createLocalJWKSet(this.options.prepare ? this.options.prepare(set) : set);
    this.fetchedAt = this.options.now();
    return this.keys;
  }
}
