import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import {
  calculateJwkThumbprint,
  compactVerify,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  type JWK,
  type ProtectedHeaderParameters,
} from 'jose';
import { LRUCache } from 'lru-cache';
import { type Clock, epochSeconds } from '../lib/clock.js';
import { isJwsAlg, JWS_ALGS, type JwsAlg } from '../lib/jws.js';
import { seal, unseal } from '../lib/seal.js';
import type { KeyStore, SigningKey } from '../store/types.js';

const PURPOSE = 'signing-key';
const CENTURY = 100 * 365 * 86400;

export interface LoadedKey {
  kid: string;
  alg: JwsAlg;
  privateKey: KeyObject;
  publicKey: KeyObject;
  publicJwk: JWK;
  activatesAt: number;
  retiredAt: number | null;
  expiresAt: number | null;
}

export interface KeyRingOptions {
  store: KeyStore;
  secret: string;
  clock: Clock;
  /** Days between automatic rotations; 0 turns them off. */
  rotationDays: number;
  /** How long a retired key stays published: the longest lifetime of anything it signs. */
  retireAfter: number;
  log?: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
  /** Called after this instance changed the stored key set, to tell the others at once. */
  onChange?: () => void;
}

/** A new key pair, its private part sealed, not yet stored. */
interface MadeKey {
  kid: string;
  alg: JwsAlg;
  publicJwk: string;
  privateJwk: string;
}

async function makeKeys(secret: string, algs: readonly JwsAlg[]): Promise<MadeKey[]> {
  return Promise.all(
    algs.map(async (alg) => {
      const { privateKey } = await generateKeyPair(alg, {
        extractable: true,
        ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}),
      });
      const jwk = await exportJWK(privateKey);
      const kid = await calculateJwkThumbprint(jwk);
      const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...publicJwk } = jwk;
      return {
        kid,
        alg,
        publicJwk: JSON.stringify(publicJwk),
        privateJwk: seal(secret, PURPOSE, JSON.stringify(jwk)),
      };
    }),
  );
}

/** A compact JWS whose signature one of our published keys checked. */
export interface VerifiedJws {
  header: Readonly<ProtectedHeaderParameters>;
  payload: Readonly<Record<string, unknown>>;
}

const decoder = new TextDecoder();

type KeyAction =
  | { kind: 'generate'; alg: JwsAlg; activatesAt: number }
  | { kind: 'retire'; kid: string };

/** A signing key could not be decrypted: the instance secret is not the one it was sealed with. */
export class KeyDecryptionError extends Error {
  constructor(kid: string, options?: { cause?: unknown }) {
    super(
      `cannot decrypt signing key ${kid}: TESSERA_SECRET is not the secret the keys were created with`,
      options,
    );
    this.name = 'KeyDecryptionError';
  }
}

/** How many verified tokens KeyRing.verify remembers, the least recently presented going first. */
const MAX_VERIFIED = 10_000;
const verifiedCache = () => new LRUCache<string, VerifiedJws>({ max: MAX_VERIFIED });

/**
 * The signing keys, held in process. For each algorithm there is one current
 * key that signs and one standby key that is already published in the JWKS,
 * so a rotation (automatic, or `tessera keys rotate`) only promotes a key that
 * relying parties have seen. A retired key stays published until everything it
 * signed has expired. Every instance re-reads the key set every few seconds,
 * so a rotation made elsewhere reaches it quickly.
 */
export class KeyRing {
  private byKid = new Map<string, LoadedKey>();
  private current = new Map<JwsAlg, LoadedKey>();
  private jwksDocument: { keys: JWK[] } = { keys: [] };
  private jwksText = '{"keys":[]}';
  private loadedFingerprint = '';
  /** Tokens whose signature checked out, by their text; emptied when the key set changes. */
  private verified = verifiedCache();

  private constructor(private readonly options: KeyRingOptions) {}

  /** Loads the key set, creating what is missing (first start) and retiring what was superseded. */
  static async open(options: KeyRingOptions): Promise<KeyRing> {
    const ring = new KeyRing(options);
    await ring.refresh();
    return ring;
  }

  private now(): number {
    return epochSeconds(this.options.clock);
  }

  /** The key that signs with `alg` now. */
  signingKey(alg: JwsAlg): LoadedKey {
    const key = this.current.get(alg);
    if (!key) throw new Error(`no current signing key for ${alg}`);
    return key;
  }

  /**
   * Verifies a compact JWS we signed, with jose: the key is found by `kid`, and
   * only that key's own algorithm is accepted (no algorithm confusion, no
   * `none`). Undefined for anything else, however malformed. Claims (`iss`,
   * `exp`, `aud`, `typ`) are the caller's to check, each time: an expired ID
   * token is still a fine id_token_hint.
   *
   * The tokens that pass are remembered: a resource server presents the same
   * access token at /userinfo or /introspect again and again, and a signature
   * check costs more than the rest of those requests.
   */
  async verify(token: string): Promise<VerifiedJws | undefined> {
    // The map of the key set the check started on: one that changes meanwhile starts empty.
    const cache = this.verified;
    const hit = cache.get(token);
    if (hit) return hit;
    const result = await this.verifyWithJose(token);
    if (result) {
      cache.set(token, result);
    }
    return result;
  }

  private async verifyWithJose(token: string): Promise<VerifiedJws | undefined> {
    let header: ProtectedHeaderParameters;
    try {
      header = decodeProtectedHeader(token);
    } catch {
      return undefined;
    }
    // We never set `crit`; a token that does asks for processing we do not do (jose would
    // honour b64=false).
    if (typeof header.kid !== 'string' || 'crit' in header) return undefined;
    const key = this.byKid.get(header.kid);
    if (!key) return undefined;
    try {
      const { payload } = await compactVerify(token, key.publicKey, { algorithms: [key.alg] });
      const claims: unknown = JSON.parse(decoder.decode(payload));
      if (!claims || typeof claims !== 'object' || Array.isArray(claims)) return undefined;
      return Object.freeze({
        header: Object.freeze(header),
        payload: Object.freeze(claims as Record<string, unknown>),
      });
    } catch {
      // jose's JOSEError (bad signature, algorithm not allowed, malformed) or a payload that
      // is not JSON: not a token we signed.
      return undefined;
    }
  }

  jwks(): { keys: JWK[] } {
    return this.jwksDocument;
  }

  /** The JWKS as JSON text, serialised once per change. */
  jwksJson(): string {
    return this.jwksText;
  }

  /** Re-reads the key set; generates, activates and retires keys as the schedule says. */
  async refresh(): Promise<void> {
    let rows = await this.options.store.list();
    const planned = this.plan(rows);
    if (planned.length > 0) {
      // Keys are made before the lock is taken (an RSA key takes a while); what to do is decided
      // again under the lock, since another instance or `tessera keys rotate` may have done it.
      const made = await makeKeys(
        this.options.secret,
        planned.flatMap((a) => (a.kind === 'generate' ? [a.alg] : [])),
      );
      const wrote = await this.options.store.exclusive(async (keys) =>
        this.maintain(keys, await keys.list(), made),
      );
      rows = await this.options.store.list();
      if (wrote) this.options.onChange?.();
    }
    this.load(rows);
  }

  /** Promotes each algorithm's standby key to current now and publishes a new standby. */
  async rotate(algs: readonly JwsAlg[] = JWS_ALGS): Promise<string[]> {
    // One rotation at a time, across processes: two at once would publish two standby keys.
    // Each algorithm may need a key to promote and a new standby: made before the lock is taken.
    const made = await makeKeys(this.options.secret, [...algs, ...algs]);
    const promoted = await this.options.store.exclusive(async (keys) => {
      const now = this.now();
      const rows = await keys.list();
      const kids: string[] = [];
      for (const alg of algs) {
        const standby = rows
          .filter((k) => k.alg === alg && k.activatesAt > now && k.retiredAt === null)
          .sort((a, b) => a.activatesAt - b.activatesAt)[0];
        // The keys signing now are retired explicitly: "newest activation wins" cannot tell
        // apart two keys activated within the same second.
        const signing = rows.filter(
          (k) =>
            k.alg === alg &&
            k.activatesAt <= now &&
            k.retiredAt === null &&
            (k.expiresAt === null || k.expiresAt > now),
        );
        if (standby) {
          await keys.activate(standby.kid, now);
          kids.push(standby.kid);
        } else {
          kids.push(await this.insert(keys, made, alg, now));
        }
        for (const old of signing) await keys.retire(old.kid, now, now + this.options.retireAfter);
      }
      // The new standby keys, published before they sign.
      await this.maintain(keys, await keys.list(), made);
      return kids;
    });
    await this.refresh();
    this.options.onChange?.();
    this.options.log?.info({ kids: promoted }, 'signing keys rotated');
    return promoted;
  }

  /** Re-reads the key set every `intervalMs`; returns a stop function. */
  watch(intervalMs: number): () => void {
    const timer = setInterval(() => {
      this.refresh().catch((error) =>
        this.options.log?.warn({ err: error }, 'reloading signing keys failed'),
      );
    }, intervalMs);
    timer.unref();
    return () => clearInterval(timer);
  }

  /** Stores a key made beforehand (or, if none is left for `alg`, one made now). */
  private async insert(
    keys: KeyStore,
    made: MadeKey[],
    alg: JwsAlg,
    activatesAt: number,
  ): Promise<string> {
    const index = made.findIndex((k) => k.alg === alg);
    const key =
      index >= 0 ? made.splice(index, 1)[0]! : (await makeKeys(this.options.secret, [alg]))[0]!;
    await keys.insert({
      ...key,
      createdAt: this.now(),
      activatesAt,
      retiredAt: null,
      expiresAt: null,
    });
    return key.kid;
  }

  /** What the schedule asks of a key set now: missing keys to make, superseded ones to retire. */
  private plan(rows: SigningKey[]): KeyAction[] {
    const now = this.now();
    const period = this.options.rotationDays > 0 ? this.options.rotationDays * 86400 : CENTURY;
    const actions: KeyAction[] = [];
    for (const alg of JWS_ALGS) {
      const live = rows.filter((k) => k.alg === alg && (k.expiresAt === null || k.expiresAt > now));
      const active = live
        .filter((k) => k.activatesAt <= now && k.retiredAt === null)
        .sort((a, b) => b.activatesAt - a.activatesAt || b.createdAt - a.createdAt);
      const standby = live.filter((k) => k.activatesAt > now && k.retiredAt === null);
      if (active.length === 0) actions.push({ kind: 'generate', alg, activatesAt: now });
      // Superseded keys stop signing now and stay published until their tokens expire.
      for (const old of active.slice(1)) actions.push({ kind: 'retire', kid: old.kid });
      if (standby.length === 0) {
        const newest = active[0]?.activatesAt ?? now;
        actions.push({ kind: 'generate', alg, activatesAt: Math.max(newest + period, now + 1) });
      }
    }
    return actions;
  }

  /** Brings the stored key set in line with the schedule; true when it wrote anything. */
  private async maintain(keys: KeyStore, rows: SigningKey[], made: MadeKey[]): Promise<boolean> {
    const actions = this.plan(rows);
    const now = this.now();
    for (const action of actions) {
      if (action.kind === 'generate') await this.insert(keys, made, action.alg, action.activatesAt);
      else await keys.retire(action.kid, now, now + this.options.retireAfter);
    }
    return actions.length > 0;
  }

  private load(rows: SigningKey[]): void {
    const now = this.now();
    const live = rows.filter((k) => (k.expiresAt === null || k.expiresAt > now) && isJwsAlg(k.alg));
    const fingerprint = live.map((k) => `${k.kid}:${k.activatesAt}:${k.retiredAt}`).join('|');
    if (fingerprint !== this.loadedFingerprint) {
      const byKid = new Map<string, LoadedKey>();
      for (const row of live) {
        const known = this.byKid.get(row.kid);
        byKid.set(
          row.kid,
          known
            ? {
                ...known,
                activatesAt: row.activatesAt,
                retiredAt: row.retiredAt,
                expiresAt: row.expiresAt,
              }
            : this.decrypt(row),
        );
      }
      this.byKid = byKid;
      this.verified = verifiedCache();
      this.jwksDocument = {
        keys: [...byKid.values()].map((k) => ({
          ...k.publicJwk,
          kid: k.kid,
          use: 'sig',
          alg: k.alg,
        })),
      };
      this.jwksText = JSON.stringify(this.jwksDocument);
      this.loadedFingerprint = fingerprint;
    }
    const current = new Map<JwsAlg, LoadedKey>();
    for (const key of this.byKid.values()) {
      if (key.activatesAt > now || key.retiredAt !== null) continue;
      const best = current.get(key.alg);
      if (!best || key.activatesAt > best.activatesAt) current.set(key.alg, key);
    }
    this.current = current;
  }

  private decrypt(row: SigningKey): LoadedKey {
    let jwk: JWK;
    try {
      jwk = JSON.parse(unseal(this.options.secret, PURPOSE, row.privateJwk)) as JWK;
    } catch (error) {
      throw new KeyDecryptionError(row.kid, { cause: error });
    }
    const privateKey = createPrivateKey({
      key: jwk as import('node:crypto').JsonWebKey,
      format: 'jwk',
    });
    return {
      kid: row.kid,
      alg: row.alg as JwsAlg,
      privateKey,
      publicKey: createPublicKey(privateKey),
      publicJwk: JSON.parse(row.publicJwk) as JWK,
      activatesAt: row.activatesAt,
      retiredAt: row.retiredAt,
      expiresAt: row.expiresAt,
    };
  }
}
