/*
 * Our JWS signer (src/lib/jws.ts, node:crypto's synchronous sign()) against jose's CompactSign
 * with the same imported KeyObject, for every algorithm Tessera signs with: the measurement that
 * decides whether the hand-written signer stays (issue 10: only if it is more than 10% faster).
 *
 *   taskset -c 0 npx tsx bench/signers.ts [seconds per row, default 3]
 *
 * Each row signs the token endpoint's access-token claims for the given time, after a warm-up of
 * a third of it. jose is measured one signature at a time (as a request waits for its own) and
 * with 16 in flight (as under load, where requests overlap on the thread pool).
 */
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { CompactSign, exportJWK, generateKeyPair } from 'jose';
import { JWS_ALGS, type JwsAlg, signJws } from '../src/lib/jws.js';

const seconds = Number(process.argv[2] ?? 3);

const claims = () => {
  const now = Math.floor(Date.now() / 1000);
  return {
    iss: 'http://127.0.0.1:9000',
    sub: 'bench-service',
    aud: 'http://127.0.0.1:9000',
    client_id: 'bench-service',
    scope: 'api:read',
    jti: 'Yt8cJ1mOeQ3c0Wk2m8xL5A',
    iat: now,
    exp: now + 3600,
  };
};

async function keyFor(alg: JwsAlg): Promise<KeyObject> {
  const { privateKey } = await generateKeyPair(alg, {
    extractable: true,
    ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}),
  });
  // As src/domain/keys.ts loads them: a node:crypto KeyObject imported once.
  return createPrivateKey({
    key: (await exportJWK(privateKey)) as import('node:crypto').JsonWebKey,
    format: 'jwk',
  });
}

function ours(alg: JwsAlg, key: KeyObject, ms: number): number {
  const start = performance.now();
  let done = 0;
  while (performance.now() - start < ms) {
    signJws({ alg, typ: 'at+jwt', kid: 'bench' }, claims(), key);
    done += 1;
  }
  return done / ((performance.now() - start) / 1000);
}

const encoder = new TextEncoder();

async function jose(alg: JwsAlg, key: KeyObject, ms: number, inFlight: number): Promise<number> {
  const start = performance.now();
  let done = 0;
  const worker = async () => {
    while (performance.now() - start < ms) {
      await new CompactSign(encoder.encode(JSON.stringify(claims())))
        .setProtectedHeader({ alg, typ: 'at+jwt', kid: 'bench' })
        .sign(key);
      done += 1;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return done / ((performance.now() - start) / 1000);
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
console.log(`Node ${process.version}, ${seconds} s per row`);
console.log(
  '| alg | ours /s | jose /s (1 at a time) | jose /s (16 in flight) | ours ÷ best jose |',
);
console.log('| --- | ---: | ---: | ---: | ---: |');
for (const alg of JWS_ALGS) {
  const key = await keyFor(alg);
  const ms = seconds * 1000;
  ours(alg, key, ms / 3);
  const a = ours(alg, key, ms);
  await jose(alg, key, ms / 3, 1);
  const b = await jose(alg, key, ms, 1);
  await jose(alg, key, ms / 3, 16);
  const c = await jose(alg, key, ms, 16);
  console.log(
    `| ${alg} | ${fmt(a)} | ${fmt(b)} | ${fmt(c)} | ${(a / Math.max(b, c)).toFixed(2)}× |`,
  );
}
