import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discoveryPaths } from '../../src/oauth/discovery.js';
import { testApp } from '../helpers/app.js';

/**
 * RFC 8414 §2, member by member: what Tessera advertises. `registration_endpoint` comes with
 * dynamic registration; `service_documentation`, `op_policy_uri` and `op_tos_uri` are left out
 * while Tessera has no such page to point at (nothing is advertised that is not real).
 */
const RFC8414_MEMBERS = [
  'issuer',
  'authorization_endpoint',
  'token_endpoint',
  'jwks_uri',
  'scopes_supported',
  'response_types_supported',
  'response_modes_supported',
  'grant_types_supported',
  'token_endpoint_auth_methods_supported',
  'token_endpoint_auth_signing_alg_values_supported',
  'ui_locales_supported',
  'revocation_endpoint',
  'revocation_endpoint_auth_methods_supported',
  'revocation_endpoint_auth_signing_alg_values_supported',
  'introspection_endpoint',
  'introspection_endpoint_auth_methods_supported',
  'introspection_endpoint_auth_signing_alg_values_supported',
  'code_challenge_methods_supported',
] as const;

const NOT_REAL = ['service_documentation', 'op_policy_uri', 'op_tos_uri'];

type Metadata = Record<string, unknown>;

for (const issuer of ['https://id.example.com', 'https://id.example.com/tenant-a']) {
  describe(`RFC 8414 authorization server metadata (issuer ${issuer})`, () => {
    let app: FastifyInstance;
    let forms: Record<string, Metadata>;
    beforeAll(async () => {
      app = await testApp({ env: { TESSERA_ISSUER: issuer } });
      forms = {};
      for (const path of discoveryPaths(app.tessera.config.issuerPath)) {
        const res = await app.inject({ method: 'GET', url: path });
        expect(res.statusCode, path).toBe(200);
        expect(res.headers['content-type']).toMatch(/^application\/json/);
        forms[path] = res.json();
      }
    });
    afterAll(async () => app.close());

    const oauthDocument = () => {
      const path = Object.keys(forms).find((p) => p.includes('oauth-authorization-server'))!;
      return forms[path]!;
    };

    it('serves it at /.well-known/oauth-authorization-server in the form RFC 8414 §3.1 gives', () => {
      const path = new URL(issuer).pathname.replace(/^\/$/, '');
      expect(Object.keys(forms)).toContain(`/.well-known/oauth-authorization-server${path}`);
    });

    it('holds every RFC 8414 §2 member Tessera supports, and none it does not', () => {
      const meta = oauthDocument();
      for (const member of RFC8414_MEMBERS) expect(meta, member).toHaveProperty(member);
      for (const member of NOT_REAL) expect(meta, member).not.toHaveProperty(member);
    });

    it('names the issuer exactly (§3.3), and every endpoint under it', () => {
      const meta = oauthDocument();
      expect(meta.issuer).toBe(issuer);
      const urls = Object.entries(meta).filter(
        ([key]) => key.endsWith('_endpoint') || key === 'jwks_uri',
      );
      expect(urls.length).toBeGreaterThanOrEqual(8);
      for (const [key, value] of urls) {
        expect(String(value), key).toMatch(new RegExp(`^${issuer}/[a-z_]+$`));
      }
    });

    it('follows the rules §2 sets on the values', () => {
      const meta = oauthDocument();
      expect(meta.response_types_supported).toContain('code');
      expect(meta.grant_types_supported).toContain('authorization_code');
      expect(meta.code_challenge_methods_supported).toEqual(['S256']);
      for (const endpoint of ['token', 'revocation', 'introspection']) {
        const algs = meta[`${endpoint}_endpoint_auth_signing_alg_values_supported`] as string[];
        // Required with client_secret_jwt or private_key_jwt, and "none" must not be listed.
        expect(meta[`${endpoint}_endpoint_auth_methods_supported`]).toContain('private_key_jwt');
        expect(algs.length).toBeGreaterThan(0);
        expect(algs).not.toContain('none');
      }
    });

    it('is one document with the OpenID Connect metadata: every member both define has one value', () => {
      const documents = Object.values(forms);
      for (const document of documents) expect(document).toEqual(documents[0]);
      const openid = Object.entries(forms).find(([p]) => p.includes('openid-configuration'))![1];
      expect(openid.userinfo_endpoint).toBe(`${issuer}/userinfo`);
      for (const member of RFC8414_MEMBERS)
        expect(openid[member], member).toEqual(oauthDocument()[member]);
    });
  });
}
