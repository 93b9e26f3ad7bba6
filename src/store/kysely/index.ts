import { type ExpressionBuilder, Kysely, Migrator, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { migrations } from '../migrations/index.js';
import type { Store } from '../types.js';
import { apiStore } from './apis.js';
import { auditStore } from './audit.js';
import { clientStore, purgeUnusedDocumentClients } from './clients.js';
import { codeStore } from './codes.js';
import { CommitGroup } from './commit-group.js';
import { deviceCodeStore } from './device-codes.js';
import { emailCodeStore } from './email-codes.js';
import { externalIdentityStore } from './external-identities.js';
import { grantStore } from './grants.js';
import { keyStore } from './keys.js';
import { knownBrowserStore } from './known-browsers.js';
import { mailOutboxStore, purgeOutbox } from './mail-outbox.js';
import { markerStore } from './markers.js';
import { passkeyStore } from './passkeys.js';
import { passwordResetStore } from './password-resets.js';
import { openPostgres, quoteIdent } from './postgres.js';
import { pushedRequestStore } from './pushed-requests.js';
import { registrationStore } from './registrations.js';
import type { Database } from './schema.js';
import { sessionStore } from './sessions.js';
import { openSqlite } from './sqlite.js';
import {
  type BusyGate,
  type BusyPolicy,
  GatedSqliteDialect,
  PATIENT_BUSY_POLICY,
} from './sqlite-busy.js';
import { tokenStore } from './tokens.js';
import { totpStore } from './totp.js';
import { userStore } from './users.js';

export type DatabaseTarget =
  | { dialect: 'sqlite'; path: string }
  | { dialect: 'postgres'; url: string };

export interface OpenOptions {
  /** PostgreSQL only: work inside this schema (created if missing); tests use one per run. */
  schema?: string;
  /** Run pending migrations first (the server does; `tessera migrate` does it alone). */
  migrate?: boolean;
  /**
   * SQLite only: how long a statement waits for a lock held by another process; the server's
   * default is short (a 503 beats a hung request), one-shot commands pass PATIENT_BUSY_POLICY.
   */
  busy?: BusyPolicy;
}

/** Applies pending migrations; returns the names of those applied. */
export async function migrateToLatest(
  db: Kysely<Database>,
  dialect: DatabaseTarget['dialect'],
): Promise<string[]> {
  // Kysely looks for its bookkeeping tables by name in every schema; name ours, or a table of
  // the same name in another schema (another Tessera, another test run) would be taken for it.
  const schema =
    dialect === 'postgres'
      ? (await sql<{ schema: string }>`select current_schema() as schema`.execute(db)).rows[0]
          ?.schema
      : undefined;
  const migrator = new Migrator({
    db,
    provider: migrations(dialect),
    ...(schema ? { migrationTableSchema: schema } : {}),
  });
  for (let attempt = 1; ; attempt++) {
    const { error, results } = await migrator.migrateToLatest();
    if (!error) {
      return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
    }
    // Kysely's migrator lists the tables of every schema before it starts; a schema or table
    // that someone else drops meanwhile fails that listing. Nothing was migrated (PostgreSQL
    // migrations run in one transaction), so the listing is simply tried again.
    if (attempt < 5 && vanishedWhileListing(error)) continue;
    throw error;
  }
}

/** PostgreSQL's "schema does not exist" and "relation does not exist". */
function vanishedWhileListing(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '3F000' || code === '42P01';
}

/** The busy gate of each SQLite database opened by connect(). */
const gates = new WeakMap<Kysely<Database>, BusyGate>();

/** A Kysely instance on the target, without migrating it (the store and tests build on it). */
export async function connect(
  target: DatabaseTarget,
  schema: string | undefined,
  busy?: BusyPolicy,
): Promise<Kysely<Database>> {
  if (target.dialect === 'postgres') {
    return new Kysely<Database>({
      dialect: new PostgresDialect({ pool: await openPostgres(target.url, schema) }),
    });
  }
  const dialect = new GatedSqliteDialect({ database: openSqlite(target.path) }, busy);
  const db = new Kysely<Database>({ dialect });
  gates.set(db, dialect.gate);
  return db;
}

/** Runs `work` with the database's statements waiting patiently for locks (SQLite). */
async function patiently<T>(db: Kysely<Database>, work: () => Promise<T>): Promise<T> {
  const gate = gates.get(db);
  if (!gate) return work();
  const usual = gate.policy;
  gate.policy = PATIENT_BUSY_POLICY;
  try {
    return await work();
  } finally {
    gate.policy = usual;
  }
}

/** Applies pending migrations to the database and closes it; returns the names of those applied. */
export async function migrateDatabase(
  target: DatabaseTarget,
  options: Pick<OpenOptions, 'schema'> = {},
): Promise<string[]> {
  const db = await connect(target, options.schema, PATIENT_BUSY_POLICY);
  try {
    return await migrateToLatest(db, target.dialect);
  } finally {
    await db.destroy();
  }
}

/** Opens the store named by the configuration. */
export async function openStore(target: DatabaseTarget, options: OpenOptions = {}): Promise<Store> {
  const db = await connect(target, options.schema, options.busy);
  try {
    if (options.migrate !== false) await patiently(db, () => migrateToLatest(db, target.dialect));
  } catch (error) {
    await db.destroy();
    throw error;
  }
  return kyselyStore(db, target.dialect);
}

function kyselyStore(db: Kysely<Database>, dialect: DatabaseTarget['dialect']): Store {
  // SQLite: the token endpoint's writes share commits (commit-group.ts). PostgreSQL makes each in
  // one statement, and concurrent commits of its own connections overlap anyway.
  const group = dialect === 'sqlite' ? new CommitGroup(db) : undefined;
  return {
    dialect,
    users: userStore(db),
    totp: totpStore(db),
    externalIdentities: externalIdentityStore(db),
    passkeys: passkeyStore(db),
    apis: apiStore(db),
    clients: clientStore(db),
    grants: grantStore(db, dialect),
    codes: codeStore(db, dialect, group),
    deviceCodes: deviceCodeStore(db, group),
    tokens: tokenStore(db, dialect, group),
    sessions: sessionStore(db, dialect),
    keys: keyStore(db),
    markers: markerStore(db, group),
    pushedRequests: pushedRequestStore(db),
    registrations: registrationStore(db),
    audit: auditStore(db),
    emailCodes: emailCodeStore(db),
    outbox: mailOutboxStore(db),
    browsers: knownBrowserStore(db),
    passwordResets: passwordResetStore(db),

    async ping() {
      if (dialect === 'sqlite') {
        // Ready means writable: an empty IMMEDIATE transaction takes the write lock and lets it go,
        // through the same gate as every write (StoreBusyError when another process holds it).
        await db.transaction().execute(async () => {});
      } else {
        await sql`select 1`.execute(db);
      }
    },

    async purgeExpired(now, options = {}) {
      // Used codes are kept ten minutes past expiry so that a late replay is still recognised.
      const codes = await db
        .deleteFrom('authorization_codes')
        .where('expires_at', '<', now - 600)
        .executeTakeFirst();
      const tokens = await db.deleteFrom('tokens').where('expires_at', '<', now).executeTakeFirst();
      // Device codes too are kept ten minutes past expiry: a late poll still hears expired_token.
      const deviceCodes = await db
        .deleteFrom('device_codes')
        .where('expires_at', '<', now - 600)
        .executeTakeFirst();
      // Sessions are deleted once ended: an expired one is ended first, by the purge job, so that
      // its apps hear of it. One expired a day ago and still not ended (the job was off) goes too.
      const gone = (eb: ExpressionBuilder<Database, 'sessions'>) =>
        eb.or([eb('ended_at', 'is not', null), eb('expires_at', '<', now - 86_400)]);
      const sessions = await db.transaction().execute(async (tx) => {
        const dead = tx.selectFrom('sessions').select('id').where(gone);
        await tx.deleteFrom('session_clients').where('session_id', 'in', dead).execute();
        return tx.deleteFrom('sessions').where(gone).executeTakeFirst();
      });
      const keys = await db
        .deleteFrom('signing_keys')
        .where('expires_at', '<', now)
        .executeTakeFirst();
      const markers = await db
        .deleteFrom('used_markers')
        .where('expires_at', '<', now)
        .executeTakeFirst();
      // Kept ten minutes past expiry, as codes are, so that a late use is told it expired.
      const pushed = await db
        .deleteFrom('pushed_requests')
        .where('expires_at', '<', now - 600)
        .executeTakeFirst();
      // An expired initial access token can never register a client again.
      const registrationTokens = await db
        .deleteFrom('registration_tokens')
        .where('expires_at', '<', now)
        .executeTakeFirst();
      // An e-mailed code is of no use once expired (10 minutes): nothing to tell a late try.
      await db.deleteFrom('email_codes').where('expires_at', '<', now).execute();
      // A link past its expiry can never be used again, whether it was used or not.
      const passwordResets = await db
        .deleteFrom('password_resets')
        .where('expires_at', '<', now)
        .executeTakeFirst();
      // By the created_at index; failed sign-ins are aggregated (domain/sign-in.ts), so this stays small.
      const audit =
        options.auditBefore === undefined
          ? undefined
          : await db
              .deleteFrom('audit_events')
              .where('created_at', '<', options.auditBefore)
              .executeTakeFirst();
      // After the expired codes, tokens and pushed requests above, which no longer hold a client.
      const documentClients =
        options.documentClientsUnusedBefore === undefined
          ? 0
          : await purgeUnusedDocumentClients(db, options.documentClientsUnusedBefore);
      const mailOutbox = options.outbox
        ? await purgeOutbox(db, options.outbox.before, options.outbox.keep)
        : 0;
      return {
        codes: Number(codes.numDeletedRows),
        tokens: Number(tokens.numDeletedRows),
        sessions: Number(sessions.numDeletedRows),
        keys: Number(keys.numDeletedRows),
        markers: Number(markers.numDeletedRows),
        pushedRequests: Number(pushed.numDeletedRows),
        audit: Number(audit?.numDeletedRows ?? 0),
        deviceCodes: Number(deviceCodes.numDeletedRows),
        registrationTokens: Number(registrationTokens.numDeletedRows),
        documentClients,
        mailOutbox,
        passwordResets: Number(passwordResets.numDeletedRows),
      };
    },

    async close() {
      await db.destroy();
    },
  };
}

/** Drops a PostgreSQL schema made for a test run. */
export async function dropPostgresSchema(url: string, schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
  } finally {
    await client.end();
  }
}
