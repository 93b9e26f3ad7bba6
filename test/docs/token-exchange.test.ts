import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docsPage, WALKTHROUGH_TIMEOUT } from '../helpers/docs-page.js';
import { type ExternalIssuer, startExternalIssuer } from '../helpers/external-issuer.js';

/**
 * docs/token-exchange.md says its commands work as written: run them, in order, against a real
 * `tessera start` that trusts a small jose-signed provider, whose ID token stands for the one a
 * front end would post.
 */
describe('docs/token-exchange.md', () => {
  // Filled before the page's server starts (hooks run in the order they are declared).
  const env: NodeJS.ProcessEnv = {};
  let idp: ExternalIssuer;
  beforeAll(async () => {
    idp = await startExternalIssuer('front-end-at-idp');
    Object.assign(env, {
      TESSERA_TRUSTED_ISSUERS: JSON.stringify([
        { issuer: idp.issuer, audience: 'front-end-at-idp' },
      ]),
      ISSUER: idp.issuer,
      EXTERNAL_SUB: 'alice-at-idp',
      ID_TOKEN: await idp.idToken({ sub: 'alice-at-idp' }),
    });
  });
  afterAll(async () => idp?.close());
  const page = docsPage('token-exchange.md', { env });

  it(
    'runs every shell block of the page, with the results it describes',
    async () => {
      const stdout = await page.run();
      const orders = page.json('orders.json') as { client_id: string };
      const exchanged = page.json('exchanged.json') as Record<string, unknown>;
      expect(exchanged).toMatchObject({
        issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
        token_type: 'Bearer',
        scope: 'orders:read',
      });
      expect(exchanged.refresh_token).toBeUndefined();
      expect(stdout).toContain('"aud":"https://billing.example.com"');
      expect(stdout).toContain(`"act":{"sub":"${orders.client_id}"}`);
      expect(stdout).toContain('"active":true');
      expect(stdout).toMatch(/^true$/m);
      expect(stdout).toContain('"error":"invalid_scope"');
      expect(stdout).toContain('"error":"invalid_target"');
      expect(stdout).toContain('the subject_token is meant for another audience');
      expect(stdout).toMatch(/"sub":"[\w-]+"}/);
      expect(stdout).toContain('no local account is linked to subject \\"alice-at-idp\\"');
    },
    WALKTHROUGH_TIMEOUT,
  );
});
