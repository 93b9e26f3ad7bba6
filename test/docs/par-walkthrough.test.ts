import { describe, expect, it } from 'vitest';
import { docsPage, WALKTHROUGH_TIMEOUT } from '../helpers/docs-page.js';

/** docs/par.md says its commands work as written: run them, in order, against a real `tessera start`. */
describe('docs/par.md walkthrough', () => {
  const page = docsPage('par.md');

  it(
    'runs every shell block of the page without an error, with the results it describes',
    async () => {
      const stdout = await page.run();
      // Without PAR, this client is sent back with invalid_request.
      expect(stdout).toMatch(
        /^https:\/\/app\.example\.com\/callback\?error=invalid_request&error_description=this\+client\+must\+push.*&state=plain1&iss=/m,
      );
      expect(stdout).toMatch(
        /^\{"request_uri":"urn:ietf:params:oauth:request_uri:[\w-]{43}","expires_in":60\}$/m,
      );
      expect(stdout).toMatch(/"error":"invalid_client".* 401$/m);
      expect(stdout).toMatch(
        /"error":"invalid_request","error_description":"redirect_uri does not match.* 400$/m,
      );
      // The scope added in the query did not reach the consent page.
      expect(stdout).toMatch(/^0$/m);
      expect(stdout).toMatch(
        /^https:\/\/app\.example\.com\/callback\?code=[\w-]{43}&state=par123&iss=/m,
      );
      expect(stdout).toMatch(/^openid profile$/m);
      expect(stdout).toMatch(/^400$/m);
      expect(stdout).toContain('request_uri has already been used');
    },
    WALKTHROUGH_TIMEOUT,
  );
});
