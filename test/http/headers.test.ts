import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, startServer, testApp } from '../helpers/app.js';

/** The headers every response carries, and CORS on the endpoints a browser app calls. */
describe('response headers', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => server.close());

  const ORIGIN = 'https://spa.example.com';

  describe('CORS', () => {
    it('answers a preflight on the token endpoint with 204 and what it allows', async () => {
      const res = await fetch(`${server.url}/token`, {
        method: 'OPTIONS',
        headers: {
          origin: ORIGIN,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'content-type',
        },
      });
      expect(res.status).toBe(204);
      expect(res.headers.get('access-control-allow-origin')).toBe('*');
      expect(res.headers.get('access-control-allow-methods')).toBe('GET, POST, OPTIONS');
      expect(res.headers.get('access-control-allow-headers')).toContain('Authorization');
      expect(res.headers.get('access-control-max-age')).toBe('600');
      // Never credentials: no cookie crosses origins.
      expect(res.headers.get('access-control-allow-credentials')).toBeNull();
    });

    it('lets a browser app read the answers of the token, userinfo, JWKS and discovery endpoints', async () => {
      for (const [path, init] of [
        ['/token', { method: 'POST', body: 'grant_type=client_credentials' }],
        ['/userinfo', {}],
        ['/jwks', {}],
        ['/.well-known/openid-configuration', {}],
        ['/token/', { method: 'POST', body: '' }],
      ] as const) {
        const res = await fetch(`${server.url}${path}`, {
          ...init,
          headers: { origin: ORIGIN, 'content-type': 'application/x-www-form-urlencoded' },
        });
        expect(res.headers.get('access-control-allow-origin'), path).toBe('*');
        expect(res.headers.get('access-control-expose-headers'), path).toContain(
          'WWW-Authenticate',
        );
      }
    });

    it('lets a browser app send DPoP proofs and read DPoP-Nonce, and not when DPoP is off (RFC 9449)', async () => {
      const off = await startServer({ env: { TESSERA_DPOP: 'off' } });
      try {
        for (const [on, target] of [
          [true, server],
          [false, off],
        ] as const) {
          const preflight = await fetch(`${target.url}/token`, {
            method: 'OPTIONS',
            headers: { origin: ORIGIN, 'access-control-request-method': 'POST' },
          });
          const allowed = preflight.headers.get('access-control-allow-headers');
          const answer = await fetch(`${target.url}/jwks`, { headers: { origin: ORIGIN } });
          const exposed = answer.headers.get('access-control-expose-headers');
          if (on) {
            expect(allowed).toMatch(/\bDPoP\b/);
            expect(exposed).toMatch(/\bDPoP-Nonce\b/);
          } else {
            expect(allowed).not.toMatch(/dpop/i);
            expect(exposed).not.toMatch(/dpop/i);
          }
        }
      } finally {
        await off.close();
      }
    });

    it('says nothing without an Origin, or on the pages and the admin API', async () => {
      expect((await fetch(`${server.url}/jwks`)).headers.get('access-control-allow-origin')).toBe(
        null,
      );
      for (const path of ['/login', '/account', '/introspect', '/admin/api/clients']) {
        const res = await fetch(`${server.url}${path}`, { headers: { origin: ORIGIN } });
        expect(res.headers.get('access-control-allow-origin'), path).toBeNull();
      }
    });
  });

  describe('on every response', () => {
    it('pages are never framed, sniffed or cached, and carry a content security policy', async () => {
      const res = await fetch(`${server.url}/login`);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      expect(res.headers.get('x-frame-options')).toBe('DENY');
      expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    });

    it('JSON answers, errors included, are not sniffed and send no referrer', async () => {
      for (const res of [
        await fetch(`${server.url}/jwks`),
        await fetch(`${server.url}/token`, { method: 'POST' }),
        await fetch(`${server.url}/userinfo`),
      ]) {
        expect(res.headers.get('x-content-type-options')).toBe('nosniff');
        expect(res.headers.get('referrer-policy')).toBe('no-referrer');
        expect(res.headers.get('x-frame-options')).toBeNull();
      }
    });

    it('carries a request id: the caller’s when it is well-formed, a new one otherwise', async () => {
      const echoed = await fetch(`${server.url}/healthz`, {
        headers: { 'x-request-id': 'trace-42.a_b' },
      });
      expect(echoed.headers.get('x-request-id')).toBe('trace-42.a_b');
      const replaced = await fetch(`${server.url}/healthz`, {
        headers: { 'x-request-id': 'has spaces and <html>' },
      });
      expect(replaced.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
      const fresh = await fetch(`${server.url}/token`, { method: 'POST' });
      expect(fresh.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    });
  });

  it('sends no Strict-Transport-Security while the issuer is http', async () => {
    for (const path of ['/login', '/jwks', '/healthz']) {
      const res = await fetch(`${server.url}${path}`);
      expect(res.headers.get('strict-transport-security'), path).toBeNull();
    }
  });
});

describe('Strict-Transport-Security (RFC 6797)', () => {
  it('is on every answer, pages, JSON and errors alike, when the issuer is https', async () => {
    const app = await testApp({ env: { TESSERA_ISSUER: 'https://id.example.com' } });
    try {
      for (const [method, url] of [
        ['GET', '/login'],
        ['GET', '/jwks'],
        ['GET', '/.well-known/openid-configuration'],
        ['POST', '/token'],
        ['GET', '/no-such-page'],
      ] as const) {
        const res = await app.inject({ method, url });
        expect(res.headers['strict-transport-security'], url).toBe('max-age=31536000');
      }
    } finally {
      await app.close();
    }
  });
});
