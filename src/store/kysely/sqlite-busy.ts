import {
  CompiledQuery,
  type DatabaseConnection,
  type Driver,
  type QueryCompiler,
  type QueryResult,
  SqliteDialect,
  type SqliteDialectConfig,
  type TransactionSettings,
} from 'kysely';
import { StoreBusyError } from '../types.js';

/*
 * better-sqlite3 is synchronous: SQLite's own busy_timeout waits for a lock
 * held by another process inside the call, on the event loop, and every
 * request (/healthz included) froze for as long. So the connection does not
 * wait at all (busy_timeout 0, see sqlite.ts), and this wrapper around
 * Kysely's own SqliteDriver waits instead, asynchronously: a statement that
 * meets SQLITE_BUSY is tried again after short sleeps, up to a deadline, then
 * refused with StoreBusyError (a 503). Retrying is safe because of where BUSY
 * can happen: a statement outside a transaction fails as a whole and changed
 * nothing; a transaction begins with BEGIN IMMEDIATE, which takes the write
 * lock first, so inside it only BEGIN (nothing done yet) and COMMIT (which
 * SQLite documents as safe to retry) can meet the lock.
 *
 * After a missed deadline the gate stays open for a while (a circuit
 * breaker): statements are still tried, once, without waiting, so reads go on
 * (WAL lets them), writes fail fast instead of queueing behind the held lock
 * on the one connection, and the first try after the lock is gone succeeds.
 */

export interface BusyPolicy {
  /** How long a statement waits for the lock, in sleeps that never block the event loop. */
  deadlineMs: number;
  /** How long after a missed deadline statements are tried once, without waiting. */
  cooldownMs: number;
}

/** Long enough for another process's ordinary write (a CLI command, another instance); short for a person. */
export const DEFAULT_BUSY_POLICY: BusyPolicy = { deadlineMs: 200, cooldownMs: 1_000 };
/**
 * For work nobody is waiting on a page for: migrations at start and one-shot CLI commands, which
 * may meet another process's checkpoint or a closing connection folding its log back (seen to
 * take longer than 200 ms on a loaded machine). Still waited in sleeps, never on the event loop.
 */
export const PATIENT_BUSY_POLICY: BusyPolicy = { deadlineMs: 10_000, cooldownMs: 0 };
const LONGEST_SLEEP_MS = 20;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code === 'SQLITE_BUSY' || code.startsWith('SQLITE_BUSY_'));
}

/** Runs statements, waiting out SQLITE_BUSY asynchronously; shared by one database's connection. */
export class BusyGate {
  #openUntil = 0;

  constructor(
    /** Replaceable: the store is patient while it migrates, then serves with the usual policy. */
    public policy: BusyPolicy,
    private readonly now: () => number = Date.now,
  ) {}

  /** Seconds a refused client should wait before trying again. */
  get retryAfter(): number {
    return Math.max(1, Math.ceil(this.policy.cooldownMs / 1000));
  }

  /** `attempt()` and its result; on SQLITE_BUSY, again after a sleep, until the deadline. */
  run<T>(attempt: () => Promise<T>): Promise<T> {
    try {
      // The usual case costs one `.catch` more than the call, and no await.
      return attempt().catch((error: unknown) => this.#retry(attempt, error));
    } catch (error) {
      return this.#retry(attempt, error);
    }
  }

  async #retry<T>(attempt: () => Promise<T>, first: unknown): Promise<T> {
    if (!isBusy(first)) throw first;
    const started = this.now();
    let error = first;
    for (let delay = 1; ; delay = Math.min(delay * 2, LONGEST_SLEEP_MS)) {
      const now = this.now();
      const waited = now - started;
      if (now < this.#openUntil || waited >= this.policy.deadlineMs) {
        this.#openUntil = now + this.policy.cooldownMs;
        throw new StoreBusyError(
          'the database is locked by another process; try again shortly',
          this.retryAfter,
          { cause: error },
        );
      }
      await sleep(Math.min(delay, this.policy.deadlineMs - waited));
      try {
        return await attempt();
      } catch (next) {
        if (!isBusy(next)) throw next;
        error = next;
      }
    }
  }
}

/** The connection Kysely sees: the driver's own, with every statement run through the gate. */
class GatedConnection implements DatabaseConnection {
  constructor(
    readonly inner: DatabaseConnection,
    private readonly gate: BusyGate,
  ) {}

  executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    return this.gate.run(() => this.inner.executeQuery<R>(query));
  }

  streamQuery<R>(query: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    return this.inner.streamQuery<R>(query, chunkSize);
  }
}

const inner = (connection: DatabaseConnection) => (connection as GatedConnection).inner;

/** Kysely's SqliteDriver, wrapped: gated statements, and transactions begun IMMEDIATE. */
class GatedSqliteDriver implements Driver {
  #connections = new WeakMap<DatabaseConnection, GatedConnection>();

  constructor(
    private readonly driver: Driver,
    private readonly gate: BusyGate,
  ) {}

  init(): Promise<void> {
    return this.driver.init();
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    const connection = await this.driver.acquireConnection();
    let gated = this.#connections.get(connection);
    if (!gated) {
      gated = new GatedConnection(connection, this.gate);
      this.#connections.set(connection, gated);
    }
    return gated;
  }

  async beginTransaction(connection: DatabaseConnection, _settings: TransactionSettings) {
    // IMMEDIATE takes the write lock now, so no statement inside can meet it half-way through.
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }

  async commitTransaction(connection: DatabaseConnection) {
    await connection.executeQuery(CompiledQuery.raw('commit'));
  }

  rollbackTransaction(connection: DatabaseConnection) {
    return this.driver.rollbackTransaction(inner(connection));
  }

  savepoint(connection: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']) {
    return this.driver.savepoint!(inner(connection), name, compile);
  }

  rollbackToSavepoint(
    connection: DatabaseConnection,
    name: string,
    compile: QueryCompiler['compileQuery'],
  ) {
    return this.driver.rollbackToSavepoint!(inner(connection), name, compile);
  }

  releaseSavepoint(
    connection: DatabaseConnection,
    name: string,
    compile: QueryCompiler['compileQuery'],
  ) {
    return this.driver.releaseSavepoint!(inner(connection), name, compile);
  }

  releaseConnection(connection: DatabaseConnection): Promise<void> {
    return this.driver.releaseConnection(inner(connection));
  }

  destroy(): Promise<void> {
    return this.driver.destroy();
  }
}

/** Kysely's SqliteDialect with its driver gated (see above). */
export class GatedSqliteDialect extends SqliteDialect {
  readonly gate: BusyGate;

  constructor(config: SqliteDialectConfig, policy: BusyPolicy = DEFAULT_BUSY_POLICY) {
    super(config);
    this.gate = new BusyGate(policy);
  }

  override createDriver(): Driver {
    return new GatedSqliteDriver(super.createDriver(), this.gate);
  }
}
