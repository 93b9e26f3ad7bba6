import { createHash, generateKeyPairSync, type KeyObject, randomBytes, sign } from 'node:crypto';

/*
 * A software authenticator for tests: what a browser and a platform authenticator together
 * hand to a relying party (WebAuthn Level 3 §6), built from Node's crypto: an ES256 key pair per
 * credential, authenticator data with its flags, an attestation object of format "none", and
 * assertions signed over authenticatorData || SHA-256(clientDataJSON). Its own small CBOR
 * encoder (RFC 8949), so that nothing of the library under test builds what it then checks.
 */

type Cbor = number | string | Uint8Array | Cbor[] | Map<number | string, Cbor>;

function head(major: number, value: number): Buffer {
  if (value < 24) return Buffer.from([(major << 5) | value]);
  if (value < 0x100) return Buffer.from([(major << 5) | 24, value]);
  if (value < 0x10000) {
    const b = Buffer.alloc(3);
    b[0] = (major << 5) | 25;
    b.writeUInt16BE(value, 1);
    return b;
  }
  const b = Buffer.alloc(5);
  b[0] = (major << 5) | 26;
  b.writeUInt32BE(value, 1);
  return b;
}

/** CBOR of the few types WebAuthn uses: integers, byte and text strings, arrays, maps. */
export function cbor(value: Cbor): Buffer {
  if (typeof value === 'number') {
    return value >= 0 ? head(0, value) : head(1, -1 - value);
  }
  if (typeof value === 'string') {
    const bytes = Buffer.from(value, 'utf8');
    return Buffer.concat([head(3, bytes.length), bytes]);
  }
  if (value instanceof Uint8Array) return Buffer.concat([head(2, value.length), value]);
  if (Array.isArray(value)) return Buffer.concat([head(4, value.length), ...value.map(cbor)]);
  const parts = [head(5, value.size)];
  for (const [k, v] of value) parts.push(cbor(k), cbor(v));
  return Buffer.concat(parts);
}

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest();
const b64u = (data: Buffer | Uint8Array) => Buffer.from(data).toString('base64url');

export const FLAGS = { UP: 0x01, UV: 0x04, BE: 0x08, BS: 0x10, AT: 0x40 } as const;

interface StoredCredential {
  id: Buffer;
  privateKey: KeyObject;
  cosePublicKey: Buffer;
  /** base64url, as the options gave it. */
  userHandle: string;
  rpId: string;
  counter: number;
}

/** What may be altered in one ceremony, to play a misbehaving browser or authenticator. */
export interface Tamper {
  origin?: string;
  rpId?: string;
  challenge?: string;
  /** The credential to use (default: the first one for the rp id, or the only one allowed). */
  credentialId?: string;
  /** The counter to sign with, instead of one more than the last. */
  counter?: number;
  /** Whether the authenticator verified the person (UV); default true. */
  userVerified?: boolean;
  /** The user handle sent; null sends none. */
  userHandle?: string | null;
}

export interface SoftAuthenticatorOptions {
  origin: string;
  /** A synced passkey (BE and BS set): amr 'swk'; else bound to this device: 'hwk'. */
  synced?: boolean;
  /** Start counters at 0 and keep them there, as many platform authenticators do. */
  noCounter?: boolean;
}

interface CreationOptionsJSON {
  challenge: string;
  rp: { id?: string; name: string };
  user: { id: string; name: string };
  excludeCredentials?: { id: string }[];
}

interface RequestOptionsJSON {
  challenge: string;
  rpId?: string;
  allowCredentials?: { id: string }[];
}

export class SoftAuthenticator {
  readonly credentials: StoredCredential[] = [];

  constructor(readonly options: SoftAuthenticatorOptions) {}

  private flags(userVerified: boolean, attested: boolean): number {
    let flags = FLAGS.UP | (userVerified ? FLAGS.UV : 0) | (attested ? FLAGS.AT : 0);
    if (this.options.synced) flags |= FLAGS.BE | FLAGS.BS;
    return flags;
  }

  private clientData(type: string, challenge: string, origin: string): Buffer {
    return Buffer.from(JSON.stringify({ type, challenge, origin, crossOrigin: false }), 'utf8');
  }

  /** navigator.credentials.create(), as its result's toJSON() gives it. */
  create(options: CreationOptionsJSON, tamper: Tamper = {}) {
    const rpId = tamper.rpId ?? options.rp.id ?? new URL(this.options.origin).hostname;
    const excluded = new Set((options.excludeCredentials ?? []).map((c) => c.id));
    if (this.credentials.some((c) => excluded.has(b64u(c.id)))) {
      throw new Error('InvalidStateError: this authenticator holds an excluded credential');
    }
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = publicKey.export({ format: 'jwk' });
    const cosePublicKey = cbor(
      new Map<number, Cbor>([
        [1, 2], // kty: EC2
        [3, -7], // alg: ES256
        [-1, 1], // crv: P-256
        [-2, Buffer.from(jwk.x!, 'base64url')],
        [-3, Buffer.from(jwk.y!, 'base64url')],
      ]),
    );
    const id = randomBytes(32);
    const counter = this.options.noCounter ? 0 : 1;
    const idLength = Buffer.alloc(2);
    idLength.writeUInt16BE(id.length);
    const signCount = Buffer.alloc(4);
    signCount.writeUInt32BE(counter);
    const authData = Buffer.concat([
      sha256(rpId),
      Buffer.from([this.flags(tamper.userVerified ?? true, true)]),
      signCount,
      Buffer.alloc(16), // AAGUID: none said (attestation "none")
      idLength,
      id,
      cosePublicKey,
    ]);
    const attestationObject = cbor(
      new Map<string, Cbor>([
        ['fmt', 'none'],
        ['attStmt', new Map()],
        ['authData', authData],
      ]),
    );
    const clientDataJSON = this.clientData(
      'webauthn.create',
      tamper.challenge ?? options.challenge,
      tamper.origin ?? this.options.origin,
    );
    this.credentials.push({
      id,
      privateKey,
      cosePublicKey,
      userHandle: options.user.id,
      rpId,
      counter,
    });
    return {
      id: b64u(id),
      rawId: b64u(id),
      type: 'public-key',
      response: {
        clientDataJSON: b64u(clientDataJSON),
        attestationObject: b64u(attestationObject),
        transports: ['internal', 'hybrid'],
      },
      clientExtensionResults: {},
    };
  }

  /** navigator.credentials.get(), as its result's toJSON() gives it. */
  get(options: RequestOptionsJSON, tamper: Tamper = {}) {
    const allowed = (options.allowCredentials ?? []).map((c) => c.id);
    const wanted = tamper.credentialId ?? allowed[0];
    const credential = wanted
      ? this.credentials.find((c) => b64u(c.id) === wanted)
      : this.credentials.find((c) => c.rpId === (options.rpId ?? c.rpId));
    if (!credential) throw new Error('NotAllowedError: no credential for this request');
    const rpId = tamper.rpId ?? options.rpId ?? credential.rpId;
    if (tamper.counter !== undefined) credential.counter = tamper.counter;
    else if (!this.options.noCounter) credential.counter += 1;
    const signCount = Buffer.alloc(4);
    signCount.writeUInt32BE(credential.counter);
    const authData = Buffer.concat([
      sha256(rpId),
      Buffer.from([this.flags(tamper.userVerified ?? true, false)]),
      signCount,
    ]);
    const clientDataJSON = this.clientData(
      'webauthn.get',
      tamper.challenge ?? options.challenge,
      tamper.origin ?? this.options.origin,
    );
    const signature = sign('sha256', Buffer.concat([authData, sha256(clientDataJSON)]), {
      key: credential.privateKey,
    });
    const userHandle = tamper.userHandle === undefined ? credential.userHandle : tamper.userHandle;
    return {
      id: b64u(credential.id),
      rawId: b64u(credential.id),
      type: 'public-key',
      response: {
        clientDataJSON: b64u(clientDataJSON),
        authenticatorData: b64u(authData),
        signature: b64u(signature),
        ...(userHandle === null ? {} : { userHandle }),
      },
      clientExtensionResults: {},
    };
  }
}
