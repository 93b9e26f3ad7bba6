import { describe, expect, it } from 'vitest';
import { docsPage, WALKTHROUGH_TIMEOUT } from '../helpers/docs-page.js';

/** docs/oauth.md says its commands work as written: run them, in order, against a real `tessera start`. */
describe('docs/oauth.md walkthrough', () => {
  const page = docsPage('oauth.md');

  it(
    'runs every shell block of the page without an error, with the results it describes',
    async () => {
      const stdout = await page.run();
      expect(stdout).toContain(`${page.url}/authorize?response_type=code`);
      expect(stdout).toMatch(
        /https:\/\/app\.example\.com\/callback\?code=[\w-]{43}&state=xyzABC123&iss=/,
      );
      const tokens = page.json('tokens.json') as { id_token?: string };
      expect(tokens).toMatchObject({
        token_type: 'Bearer',
        scope: 'openid profile email offline_access',
      });
      expect(tokens.id_token).toBeTruthy();
      expect(stdout).toContain('"preferred_username":"alice"');
      expect(stdout).toContain('"active":true');
      expect(stdout).toContain('the refresh token has already been used');
      expect(stdout).toMatch(/^200$/m);
      expect(stdout).toContain('{"active":false}');
      expect(stdout).toMatch(/"scope":"api:read"/);
      // Asking for more later: only e-mail is new, and the tokens carry the union.
      expect(stdout).toMatch(/^first scope: openid profile$/m);
      expect(stdout).toMatch(/^New: See your e-mail address$/m);
      expect(stdout).toContain('<h2>Already allowed</h2>');
      expect(stdout).toMatch(/^union scope: openid profile email$/m);
      expect(stdout).toContain(
        '"error_description":"body parameter \\"client_id\\" holds the control character U+0000, which Tessera does not accept","field":"client_id"} 400',
      );
    },
    WALKTHROUGH_TIMEOUT,
  );
});
