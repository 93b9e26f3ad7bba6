import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWTPayload, SignJWT } from 'jose';

/**
 * Another OpenID provider, as small as can be: a loopback HTTP server publishing its discovery
 * document and JWKS, and signing ID tokens with its own ES256 key, so that tests can make the
 * ID tokens a trusted issuer would (and the ones it must not be trusted for).
 */
export interface ExternalIssuer {
  issuer: string;
  jwksUri: string;
  /** How many times its JWKS was fetched. */
  jwksFetches(): number;
  /** How many requests it answered, whatever they were. */
  requests(): number;
  /** An ID token signed with its key; `claims` override the defaults (iss, sub, aud, iat, exp). */
  idToken(
    claims: JWTPayload,
    options?: { alg?: string; key?: 'own' | 'stranger' },
  ): Promise<string>;
  close(): Promise<void>;
}

export async function startExternalIssuer(audience: string): Promise<ExternalIssuer> {
  const own = await generateKeyPair('ES256');
  const stranger = await generateKeyPair('ES256');
  const jwk = { ...(await exportJWK(own.publicKey)), kid: 'idp-1', alg: 'ES256', use: 'sig' };
  let fetches = 0;
  let requests = 0;
  let issuer = '';
  const server: Server = createServer((request, response) => {
    requests += 1;
    response.setHeader('content-type', 'application/json');
    if (request.url === '/.well-known/openid-configuration') {
      response.end(JSON.stringify({ issuer, jwks_uri: `${issuer}/jwks` }));
    } else if (request.url === '/jwks') {
      fetches += 1;
      response.end(JSON.stringify({ keys: [jwk] }));
    } else {
      response.statusCode = 404;
      response.end('{}');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    issuer,
    jwksUri: `${issuer}/jwks`,
    jwksFetches: () => fetches,
    requests: () => requests,
    async idToken(claims, options = {}) {
      const now = Math.floor(Date.now() / 1000);
      const alg = options.alg ?? 'ES256';
      const jwt = new SignJWT({
        iss: issuer,
        sub: 'external-person-1',
        aud: audience,
        iat: now,
        exp: now + 300,
        // As a provider's tokens differ (nonce, jti): two made in one second are two tokens.
        jti: randomUUID(),
        ...claims,
      }).setProtectedHeader({ alg, kid: 'idp-1', typ: 'JWT' });
      if (alg === 'HS256')
        return jwt.sign(new TextEncoder().encode('a shared secret of 32 bytes!!!!!'));
      return jwt.sign(options.key === 'stranger' ? stranger.privateKey : own.privateKey);
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
