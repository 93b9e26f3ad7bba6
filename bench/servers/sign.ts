/*
 * The crypto ceiling: how many ES256 JWTs one core signs per second.
 * `jose` (the reference library, WebCrypto underneath, asynchronous) is the
 * ceiling the report uses; node:crypto's synchronous sign() on a KeyObject,
 * which is what Tessera's src/lib/jws.ts calls, is measured beside it.
 */
import { createPrivateKey, sign } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { serveParent } from '../lib/ipc.js';

const { privateKey } = await generateKeyPair('ES256', { extractable: true });
const keyObject = createPrivateKey({ key: await exportJWK(privateKey), format: 'jwk' });
// RS256 as Tessera signs its ID tokens by default: what b's CPU target subtracts, with ES256.
const rsa = await generateKeyPair('RS256', { extractable: true });
const rsaKeyObject = createPrivateKey({ key: await exportJWK(rsa.privateKey), format: 'jwk' });
const claims = {
  iss: 'http://127.0.0.1:9000',
  sub: 'bench-service',
  aud: 'http://127.0.0.1:9000',
  client_id: 'bench-service',
  scope: 'api:read',
  jti: 'Yt8cJ1mOeQ3c0Wk2m8xL5A',
};

/** Signs with jose for `seconds`, keeping `inFlight` signatures outstanding. */
async function joseRate(seconds: number, inFlight: number): Promise<number> {
  const deadline = performance.now() + seconds * 1000;
  let done = 0;
  const worker = async () => {
    while (performance.now() < deadline) {
      const now = Math.floor(Date.now() / 1000);
      await new SignJWT({ ...claims, iat: now, exp: now + 3600 })
        .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'bench' })
        .sign(privateKey);
      done += 1;
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: inFlight }, worker));
  return done / ((performance.now() - start) / 1000);
}

/** The same JWT signed with node:crypto, synchronously, for `seconds`. */
function nodeRate(seconds: number, alg: 'ES256' | 'RS256' = 'ES256'): number {
  const header = Buffer.from(JSON.stringify({ alg, typ: 'at+jwt', kid: 'bench' })).toString(
    'base64url',
  );
  const options =
    alg === 'ES256' ? { key: keyObject, dsaEncoding: 'ieee-p1363' as const } : rsaKeyObject;
  const start = performance.now();
  const deadline = start + seconds * 1000;
  let done = 0;
  while (performance.now() < deadline) {
    const now = Math.floor(Date.now() / 1000);
    const payload = Buffer.from(JSON.stringify({ ...claims, iat: now, exp: now + 3600 })).toString(
      'base64url',
    );
    const input = `${header}.${payload}`;
    sign('sha256', Buffer.from(input), options);
    done += 1;
  }
  return done / ((performance.now() - start) / 1000);
}

serveParent(
  {
    measure: async (payload) => {
      const { warmup, duration, quick } = payload as {
        warmup: number;
        duration: number;
        quick: boolean;
      };
      await joseRate(warmup, 16);
      const jose = await joseRate(duration, 16);
      // node:crypto is only shown beside the ceiling: a quick run gives it less time.
      nodeRate(quick ? 0.2 : warmup);
      const node = nodeRate(quick ? 1 : duration);
      nodeRate(quick ? 0.2 : warmup, 'RS256');
      const rs256 = nodeRate(quick ? 1 : duration, 'RS256');
      return {
        jose_rps: Math.round(jose),
        node_crypto_rps: Math.round(node),
        node_crypto_rs256_rps: Math.round(rs256),
      };
    },
    stop: () => undefined,
  },
  {},
);
