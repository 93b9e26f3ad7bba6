import { describe, expect, it } from 'vitest';
import { docsPage, WALKTHROUGH_TIMEOUT } from '../helpers/docs-page.js';

/** docs/apis.md says its commands work as written: run them, in order, against a real `tessera start`. */
describe('docs/apis.md walkthrough', () => {
  const page = docsPage('apis.md', {
    env: { TESSERA_ADMIN_KEY: 'docs-walkthrough-admin-key-0123456789abcdef' },
  });

  it(
    'runs every shell block of the page without an error, with the results it describes',
    async () => {
      const stdout = await page.run();
      expect(stdout).toMatch(/^https:\/\/api\.example\.com$/m);
      expect(page.json('mail-api.json')).toMatchObject({
        identifier: 'https://mail.example.com/api',
        access_token_format: 'opaque',
      });
      // The consent page names the API by name and identifier.
      expect(stdout).toContain(
        '<strong>Orders API</strong> <span class="muted">(<code>https://api.example.com</code>)',
      );
      expect(stdout).toMatch(/^orders:read 600$/m);
      expect(stdout).toMatch(/^https:\/\/api\.example\.com orders:read$/m);
      expect(page.json('tokens.json')).toHaveProperty('id_token');
      expect(stdout).toMatch(/^true https:\/\/api\.example\.com orders:read$/m);
      expect(stdout).toMatch(/^\{"active":false\}$/m);
      expect(stdout).toMatch(/^mail:read 1$/m);
      expect(stdout).toMatch(/"error":"invalid_target".*was not granted.* 400$/m);
      expect(stdout).toMatch(
        /^https:\/\/shop\.example\.com\/callback\?error=invalid_target&error_description=resource\+%22https%3A%2F%2Funknown\.example\.com%2F%22\+is\+not\+a\+registered\+API&state=s2&iss=/m,
      );
    },
    WALKTHROUGH_TIMEOUT,
  );
});
