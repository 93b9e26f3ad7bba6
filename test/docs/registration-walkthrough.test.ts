import { describe, expect, it } from 'vitest';
import { TEST_ADMIN_KEY } from '../helpers/config.js';
import { docsPage, WALKTHROUGH_TIMEOUT } from '../helpers/docs-page.js';

/** docs/registration.md says its commands work as written: run them, in order, against a real `tessera start`. */
describe('docs/registration.md walkthrough', () => {
  const page = docsPage('registration.md', {
    env: { TESSERA_REGISTRATION: 'token', TESSERA_ADMIN_KEY: TEST_ADMIN_KEY },
  });

  it(
    'runs every shell block of the page without an error, with the results it describes',
    async () => {
      const stdout = await page.run();
      expect(stdout).toMatch(/^2\n/m);
      expect(stdout).toMatch(/^204$/m);
      expect(stdout).toMatch(/^201$/m);
      expect(stdout).toContain('true openid profile offline_access web false');
      expect(stdout).toMatch(/^My MCP client$/m);
      expect(stdout).toMatch(/^registered itself$/m);
      expect(stdout).toContain('My MCP client 2 / openid profile email offline_access');
      expect(stdout).toContain(
        '{"error":"invalid_token","error_description":"the registration access token is not valid for this client"} 401',
      );
      expect(stdout).toMatch(/^401$/m);
      // Scopes outside the policy dropped, not refused.
      expect(stdout).toMatch(/^openid$/m);
      for (const line of [
        '{"error":"invalid_redirect_uri","error_description":"redirect_uris: \\"http://app.example.com/cb\\" must use https (http is allowed only on loopback)"} 400',
        '{"error":"invalid_redirect_uri","error_description":"redirect_uris: \\"com.example.app:/cb\\" uses a private-use scheme, which only an application_type \\"native\\" client may register"} 400',
        '{"error":"invalid_client_metadata","error_description":"grant_types: \\"client_credentials\\" is not allowed for a self-registered client (allowed: authorization_code, refresh_token)"} 400',
        '{"error":"invalid_token","error_description":"an initial access token is required to register a client"} 401',
        '{"error":"invalid_token","error_description":"the initial access token has been used up"} 401',
      ]) {
        expect(stdout).toContain(line);
      }
    },
    WALKTHROUGH_TIMEOUT,
  );
});
