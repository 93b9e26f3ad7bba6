import { createSecretKey, type KeyObject } from 'node:crypto';
import {
  type CompactVerifyResult,
  compactVerify,
  createLocalJWKSet,
  errors,
  type JSONWebKeySet,
  type JWTVerifyGetKey,
} from 'jose';
import { LRUCache } from 'lru-cache';
import { RemoteJwks, type RemoteJwksError } from '../lib/remote-jwks.js';
import { unseal } from '../lib/seal.js';
import type { Client, JwkSet } from '../store/types.js';
import { forVerification, jwksProblem, MAX_JWKS_BYTES } from './client-jwks.js';
import { CLIENT_SECRET_PURPOSE } from './clients.js';

export interface ClientKeysOptions {
  /** The instance secret, which seals client_secret_jwt secrets. */
  secret: string;
  timeoutMs: number;
  cacheSeconds: number;
  cooldownSeconds: number;
  /** In production no jwks_uri may reach an internal address (elsewhere, only an admin's client's). */
  production: boolean;
  /** TESSERA_CIMD_ALLOW_LOOPBACK: a self-registered client's jwks_uri may still reach loopback. */
  allowLoopback: boolean;
  now: () => number;
  /** Hears each failed fetch of a jwks_uri once, with the network error the client is not shown. */
  onFetchFailure?: (client: Client, url: string, error: RemoteJwksError) => void;
}

/** The client has no key that could check this signature: no jwks, no jwks_uri, no secret. */
export class NoClientKeysError extends Error {
  override name = 'NoClientKeysError';
}

/**
 * The keys that check what clients sign (client assertions, JWT bearer grant assertions),
 * made ready once per client: the token endpoint imports no key and unseals no secret on a
 * request it has already seen the client for.
 *
 * Inline keys and the unsealed secret are kept per client record: ClientCache hands out the
 * same record until the client changes (or its cache entry is read again), so a changed client
 * gets its keys made anew, and a forgotten record takes them with it. A `jwks_uri` set is kept
 * per client and URL (lib/remote-jwks.ts) with its own lifetime, since the client changes it
 * without telling us.
 */
export class ClientKeys {
  private readonly inline = new WeakMap<Client, JWTVerifyGetKey>();
  private readonly secrets = new WeakMap<Client, KeyObject>();
  private readonly remote = new LRUCache<string, RemoteJwks>({ max: 10_000 });

  constructor(private readonly options: ClientKeysOptions) {}

  /**
   * Verifies a compact JWS with the client's registered public keys (`jwks` or `jwks_uri`),
   * fetching a `jwks_uri` set again, within its cooldown, when the key it names is missing.
   * @throws NoClientKeysError, a RemoteJwksError, or a jose error (no matching key, bad signature)
   */
  async verifyWithKeys(
    client: Client,
    jws: string,
    algorithms: string[],
  ): Promise<CompactVerifyResult> {
    if (client.jwks) return compactVerify(jws, this.inlineOf(client), { algorithms });
    if (!client.jwksUri) throw new NoClientKeysError('the client has registered no public keys');
    const remote = this.remoteOf(client, client.jwksUri);
    const keys = await remote.current();
    try {
      return await compactVerify(jws, keys, { algorithms });
    } catch (error) {
      if (!(error instanceof errors.JWKSNoMatchingKey)) throw error;
      const fresh = await remote.refreshed();
      if (!fresh) throw error;
      return compactVerify(jws, fresh, { algorithms });
    }
  }

  /** The HMAC key of a client_secret_jwt client: its secret, unsealed once per client record. */
  secretKey(client: Client): KeyObject {
    let key = this.secrets.get(client);
    if (!key) {
      if (!client.secretSealed) throw new NoClientKeysError('the client has no usable secret');
      key = createSecretKey(
        Buffer.from(unseal(this.options.secret, CLIENT_SECRET_PURPOSE, client.secretSealed)),
      );
      this.secrets.set(client, key);
    }
    return key;
  }

  private inlineOf(client: Client): JWTVerifyGetKey {
    let keys = this.inline.get(client);
    if (!keys) {
      keys = createLocalJWKSet(forVerification(client.jwks ?? { keys: [] }) as JSONWebKeySet);
      this.inline.set(client, keys);
    }
    return keys;
  }

  private remoteOf(client: Client, url: string): RemoteJwks {
    const id = `${client.id} ${url}`;
    let remote = this.remote.get(id);
    if (!remote) {
      const o = this.options;
      remote = new RemoteJwks(url, {
        timeoutMs: o.timeoutMs,
        maxBytes: MAX_JWKS_BYTES,
        cacheMs: o.cacheSeconds * 1000,
        cooldownMs: o.cooldownSeconds * 1000,
        // A client anyone could have made (dynamic registration, a metadata document) never
        // reaches Tessera's own network, judged on the addresses the name resolves to now.
        externalOnly: o.production || client.registration !== 'admin',
        allowLoopback: o.allowLoopback && !o.production,
        validate: jwksProblem,
        prepare: (set) => forVerification(set as JwkSet) as JSONWebKeySet,
        now: o.now,
        onFailure: (error) => o.onFetchFailure?.(client, url, error),
      });
      this.remote.set(id, remote);
    }
    return remote;
  }
}
