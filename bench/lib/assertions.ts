import { createPrivateKey, type JsonWebKey, type KeyObject, randomUUID, sign } from 'node:crypto';

/** A client's ES256 signing key as the benchmark holds it (the private JWK, with its kid). */
export interface AssertionKey {
  kid: string;
  privateJwk: JsonWebKey;
}

/** Who signs (iss), for whom (sub), to whom (aud). */
export interface AssertionClaims {
  iss: string;
  sub: string;
  aud: string;
}

/** Assertions signed ahead of a window: at most this many per second of load. */
export const ASSERTION_RATE = 12_000;

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/**
 * Request bodies that each carry a fresh signed JWT (a client assertion or a JWT bearer grant
 * assertion, each with its own jti), signed ahead of the measured window with node:crypto
 * (ES256, ~30 µs each) so that the load generator is not what limits the server's rate. A pool
 * that runs dry signs on the spot and counts it: the row then says the generator may have been
 * the limit.
 */
export class AssertionPool {
  dry = 0;
  private bodies: string[] = [];
  private readonly key: KeyObject;
  private readonly header: string;

  constructor(
    key: AssertionKey,
    private readonly claims: AssertionClaims,
    private readonly body: (assertion: string) => string,
  ) {
    this.key = createPrivateKey({ key: key.privateJwk, format: 'jwk' });
    this.header = b64({ alg: 'ES256', kid: key.kid, typ: 'JWT' });
  }

  /** Replaces the pool with enough bodies for `seconds` of load; valid for four minutes. */
  fill(seconds: number): void {
    const count = Math.ceil(ASSERTION_RATE * seconds);
    const bodies = new Array<string>(count);
    for (let i = 0; i < count; i++) bodies[i] = this.body(this.sign());
    this.bodies = bodies;
  }

  take(): string {
    const body = this.bodies.pop();
    if (body !== undefined) return body;
    this.dry += 1;
    return this.body(this.sign());
  }

  private sign(): string {
    const now = Math.floor(Date.now() / 1000);
    const input = `${this.header}.${b64({ ...this.claims, iat: now, exp: now + 240, jti: randomUUID() })}`;
    const signature = sign('sha256', Buffer.from(input), {
      key: this.key,
      dsaEncoding: 'ieee-p1363',
    });
    return `${input}.${signature.toString('base64url')}`;
  }
}
