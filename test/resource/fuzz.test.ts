import fc from 'fast-check';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tesseraResource } from '../../src/resource/index.js';
import { type RunningServer, startServer } from '../helpers/app.js';

/** Header-safe characters: what a client can put in an Authorization header. */
const printable = fc.string({
  unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
  maxLength: 80,
});
const b64 = fc.string({
  unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'),
  maxLength: 60,
});
/** Whatever a hostile or confused client sends: any text, Bearer and junk, JWT-shaped junk. */
const authorization = fc.oneof(
  printable,
  printable.map((s) => `Bearer ${s}`),
  fc.tuple(b64, b64, b64).map(([h, p, s]) => `Bearer eyJ${h}.${p}.${s}`),
  fc
    .tuple(fc.jsonValue(), fc.jsonValue(), b64)
    .map(
      ([h, p, s]) =>
        `Bearer ${Buffer.from(JSON.stringify(h) ?? 'null').toString('base64url')}.${Buffer.from(JSON.stringify(p) ?? 'null').toString('base64url')}.${s}`,
    ),
);

describe('tessera/resource: any Authorization header', () => {
  let tessera: RunningServer;
  let app: FastifyInstance;
  beforeAll(async () => {
    tessera = await startServer();
    app = Fastify();
    await app.register(tesseraResource, { issuer: tessera.url, resource: tessera.url });
    app.get('/r', { preHandler: app.requireToken(['x']) }, async () => 'ok');
  });
  afterAll(async () => {
    await app?.close();
    await tessera?.close();
  });

  it('gets 400 or 401 with a Bearer challenge, never a 500 nor a pass', async () => {
    await fc.assert(
      fc.asyncProperty(authorization, async (header) => {
        const res = await app.inject({ url: '/r', headers: { authorization: header } });
        expect([400, 401], `${header} → ${res.statusCode} ${res.body}`).toContain(res.statusCode);
        expect(res.headers['www-authenticate']).toMatch(/^Bearer /);
        expect(res.json().error).toMatch(/^(invalid_token|invalid_request)$/);
      }),
      { numRuns: 300 },
    );
  });
});
