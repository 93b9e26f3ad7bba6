import { describe, expect, it } from 'vitest';
import { docsPage, WALKTHROUGH_TIMEOUT } from '../helpers/docs-page.js';

/** docs/dpop.md says its commands work as written: run them, in order, against a real `tessera start`. */
describe('docs/dpop.md walkthrough', () => {
  const page = docsPage('dpop.md', { nodeModules: true });

  it(
    'runs every shell block of the page without an error, with the results it describes',
    async () => {
      const stdout = await page.run();
      const jkt = /--- block 2\n([\w-]{43})\n/.exec(stdout)?.[1];
      expect(jkt).toBeTruthy();
      expect(stdout).toContain(
        '"error":"invalid_request","error_description":"this client must send a DPoP proof with every token request (dpop_bound_access_tokens)"',
      );
      expect(stdout).toContain(`DPoP\n{"jkt":"${jkt}"}`);
      expect(stdout).toContain(
        '"error":"invalid_dpop_proof","error_description":"the DPoP proof was used before',
      );
      expect(stdout).toContain(`DPoP ${jkt}`);
      expect(stdout).toContain('dpop api:read');
      expect(page.json('app-tokens.json')).toMatchObject({
        token_type: 'DPoP',
      });
      expect(stdout).toContain('"preferred_username":"dora"');
      expect(stdout).toMatch(/^www-authenticate: DPoP error="invalid_token"/im);
      expect(page.json('refreshed.json')).toMatchObject({
        token_type: 'DPoP',
      });
    },
    WALKTHROUGH_TIMEOUT,
  );
});
