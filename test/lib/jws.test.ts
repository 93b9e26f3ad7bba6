import { createHmac, generateKeyPairSync } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { CompactSign, importJWK, jwtVerify, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KeyRing } from '../../src/domain/keys.js';
import { JWS_ALGS, type JwsAlg, signJws } from '../../src/lib/jws.js';
import { testApp } from '../helpers/app.js';

/**
 * Our one hand-written piece of JOSE, the signer (kept for speed: bench/README.md), against
 * jose on every algorithm we sign with, both ways; and KeyRing.verify, through which every
 * verification goes, refusing what is not a token of ours.
 */
describe('JWS: our signer and jose agree; KeyRing.verify pins each key to its algorithm', () => {
  let app: FastifyInstance;
  let keys: KeyRing;
  const claims = { iss: 'https://issuer.example', sub: 'user-1', aud: 'client-1', nonce: 'n-é✓' };

  beforeAll(async () => {
    app = await testApp();
    keys = app.tessera.keys;
  });
  afterAll(async () => app.close());

  /** The key's public JWK as /jwks publishes it, imported by jose on its own. */
  async function publishedKey(alg: JwsAlg) {
    const kid = keys.signingKey(alg).kid;
    const jwk = keys.jwks().keys.find((k) => k.kid === kid);
    if (!jwk) throw new Error(`${kid} is not in the JWKS`);
    return importJWK(jwk, alg);
  }

  it('covers every algorithm the key ring signs with', () => {
    expect([...JWS_ALGS].sort()).toEqual(['ES256', 'EdDSA', 'RS256']);
    for (const alg of JWS_ALGS) expect(keys.signingKey(alg).alg).toBe(alg);
  });

  describe.each(JWS_ALGS)('%s', (alg) => {
    it('a token from our signer verifies with jose, against the published JWK', async () => {
      const key = keys.signingKey(alg);
      const token = signJws({ alg, kid: key.kid, typ: 'JWT' }, claims, key.privateKey);
      const { payload, protectedHeader } = await jwtVerify(token, await publishedKey(alg), {
        algorithms: [alg],
        issuer: claims.iss,
        audience: claims.aud,
      });
      expect(protectedHeader).toEqual({ alg, kid: key.kid, typ: 'JWT' });
      expect(payload).toEqual(claims);
    });

    it('a token signed by jose is accepted where we verify', async () => {
      const key = keys.signingKey(alg);
      const token = await new SignJWT(claims)
        .setProtectedHeader({ alg, kid: key.kid, typ: 'JWT' })
        .sign(key.privateKey);
      const verified = await keys.verify(token);
      expect(verified?.header).toMatchObject({ alg, kid: key.kid });
      expect(verified?.payload).toEqual(claims);
    });

    it('a token from our signer with one byte of its payload changed is refused by both', async () => {
      const key = keys.signingKey(alg);
      const token = signJws({ alg, kid: key.kid }, claims, key.privateKey);
      const [h, , s] = token.split('.');
      const forged = `${h}.${Buffer.from(JSON.stringify({ ...claims, sub: 'user-2' })).toString('base64url')}.${s}`;
      await expect(jwtVerify(forged, await publishedKey(alg))).rejects.toThrow(/signature/);
      expect(await keys.verify(forged)).toBeUndefined();
    });
  });

  const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

  it("refuses a header alg other than its key's, even when the signature is good for that alg", async () => {
    const es = keys.signingKey('ES256');
    const rsa = keys.signingKey('RS256');
    // A genuine RS256 signature by our RSA key, under the ES256 key's kid.
    const crossed = await new CompactSign(new TextEncoder().encode(JSON.stringify(claims)))
      .setProtectedHeader({ alg: 'RS256', kid: es.kid })
      .sign(rsa.privateKey);
    expect(await keys.verify(crossed)).toBeUndefined();
    // The same token under its own kid is fine: the refusal above was the pinning.
    const own = await new CompactSign(new TextEncoder().encode(JSON.stringify(claims)))
      .setProtectedHeader({ alg: 'RS256', kid: rsa.kid })
      .sign(rsa.privateKey);
    expect(await keys.verify(own)).toBeDefined();
  });

  it('refuses HS256 keyed with the public key (the classic algorithm confusion)', async () => {
    const rsa = keys.signingKey('RS256');
    const secret = rsa.publicKey.export({ type: 'spki', format: 'pem' });
    const input = `${b64({ alg: 'HS256', kid: rsa.kid })}.${b64(claims)}`;
    const mac = createHmac('sha256', secret).update(input).digest('base64url');
    expect(await keys.verify(`${input}.${mac}`)).toBeUndefined();
  });

  it('refuses alg none, with or without a kid', async () => {
    const kid = keys.signingKey('ES256').kid;
    expect(await keys.verify(`${b64({ alg: 'none', kid })}.${b64(claims)}.`)).toBeUndefined();
    expect(await keys.verify(`${b64({ alg: 'none' })}.${b64(claims)}.`)).toBeUndefined();
  });

  it('refuses an unknown kid, a missing kid, and a key that is not ours', async () => {
    const stranger = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const ours = keys.signingKey('ES256');
    expect(
      await keys.verify(signJws({ alg: 'ES256', kid: 'unknown' }, claims, ours.privateKey)),
    ).toBeUndefined();
    const noKid = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'ES256' })
      .sign(ours.privateKey);
    expect(await keys.verify(noKid)).toBeUndefined();
    // A stranger's signature under our kid.
    expect(
      await keys.verify(signJws({ alg: 'ES256', kid: ours.kid }, claims, stranger)),
    ).toBeUndefined();
  });

  it('refuses a crit header, which asks for processing we do not do', async () => {
    const key = keys.signingKey('ES256');
    // jose itself accepts this one (it knows b64), and would accept b64: false too.
    const token = await new CompactSign(new TextEncoder().encode(JSON.stringify(claims)))
      .setProtectedHeader({ alg: 'ES256', kid: key.kid, b64: true, crit: ['b64'] })
      .sign(key.privateKey);
    await expect(jwtVerify(token, key.publicKey)).resolves.toBeDefined();
    expect(await keys.verify(token)).toBeUndefined();
  });

  it('refuses garbage and payloads that are not a JSON object', async () => {
    const key = keys.signingKey('ES256');
    for (const token of ['', 'garbage', 'a.b.c', 'a.b', '...', `${b64({ alg: 'ES256' })}`]) {
      expect(await keys.verify(token)).toBeUndefined();
    }
    for (const payload of ['[1,2]', '"text"', 'null', 'not json']) {
      const token = await new CompactSign(new TextEncoder().encode(payload))
        .setProtectedHeader({ alg: 'ES256', kid: key.kid })
        .sign(key.privateKey);
      expect(await keys.verify(token)).toBeUndefined();
    }
  });
});
