import { describe, expect, it } from 'vitest';
import { docsPage, WALKTHROUGH_TIMEOUT } from '../helpers/docs-page.js';

/**
 * docs/client-metadata-documents.md says its commands work as written: run them, in order,
 * against a real `tessera start` that may fetch documents from loopback (the page serves its own).
 */
describe('docs/client-metadata-documents.md walkthrough', () => {
  const page = docsPage('client-metadata-documents.md', {
    env: { TESSERA_CIMD_ALLOW_LOOPBACK: 'true' },
  });

  it(
    'runs every shell block of the page without an error, with the results it describes',
    async () => {
      const stdout = await page.run();
      expect(stdout).toMatch(/"client_id":"http:\/\/127\.0\.0\.1:\d+\/oauth\/client\.json"/);
      expect(stdout).toMatch(/^<h1>127\.0\.0\.1:\d+ wants to access your account<\/h1>$/m);
      expect(stdout).toMatch(/^It calls itself <strong>Example Agent<\/strong>$/m);
      expect(stdout).toMatch(/^1$/m);
      expect(stdout).toMatch(
        /^http:\/\/127\.0\.0\.1:53682\/callback\?code=[\w-]{43}&state=cimd1&iss=/m,
      );
      expect(stdout).toMatch(/^Bearer openid profile offline_access true$/m);
      expect(stdout).toMatch(/^400$/m);
      expect(stdout).toContain('redirect_uri does not match');
      expect(stdout).toMatch(
        /"error":"invalid_client","error_description":"client authentication failed: the client metadata document's URL answered HTTP 404"\} 401$/m,
      );
    },
    WALKTHROUGH_TIMEOUT,
  );
});
