import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { docsPage, WALKTHROUGH_TIMEOUT } from '../helpers/docs-page.js';

const ROOT = join(import.meta.dirname, '../..');

/**
 * docs/resource-kit.md says its commands work as written: run them, in order, against a real
 * `tessera start`. The page's API imports `tessera/resource` from the checkout it links; here it
 * runs the sources (the tessera-source condition, through tsx), never a stale dist/.
 */
describe('docs/resource-kit.md walkthrough', () => {
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  const page = docsPage('resource-kit.md', {
    shellEnv: {
      TESSERA_CHECKOUT: ROOT,
      NODE_OPTIONS: `--conditions=tessera-source --import=${tsx}`,
    },
  });

  it(
    'runs every shell block of the page without an error, with the results it describes',
    async () => {
      const stdout = await page.run();
      const metadataUrl = `${page.url}/.well-known/oauth-protected-resource`;
      expect(stdout).toContain(`www-authenticate: Bearer resource_metadata="${metadataUrl}"`);
      expect(stdout).toContain(
        JSON.stringify({
          resource: page.url,
          authorization_servers: [page.url],
          scopes_supported: ['notes:read', 'notes:write'],
          bearer_methods_supported: ['header'],
          resource_name: 'Notes API',
        }),
      );
      const worker = page.json('worker.json') as { client_id: string };
      expect(stdout).toContain(
        JSON.stringify({ notes: [], for: worker.client_id, scopes: ['notes:read'] }),
      );
      expect(stdout).toMatch(/^HTTP\/1\.1 403/m);
      expect(stdout).toContain(
        `www-authenticate: Bearer error="insufficient_scope", error_description="the access token lacks the scope notes:write", scope="notes:write", resource_metadata="${metadataUrl}"`,
      );
      expect(stdout).toContain(
        '{"error":"invalid_token","error_description":"the access token is not active (expired, revoked or unknown)"}',
      );
      const opaque = page.json('opaque.json') as { client_id: string };
      expect(stdout).toContain(
        JSON.stringify({ notes: [], for: opaque.client_id, scopes: ['notes:read'] }),
      );
      // The last answer: the revoked opaque token, refused.
      expect(stdout.trim().split('\n').at(-1)).toBe(
        '{"error":"invalid_token","error_description":"the access token is not active (expired, revoked or unknown)"}',
      );
    },
    WALKTHROUGH_TIMEOUT,
  );
});
