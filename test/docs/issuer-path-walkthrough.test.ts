import { describe, expect, it } from 'vitest';
import { docsPage, WALKTHROUGH_TIMEOUT } from '../helpers/docs-page.js';

/**
 * docs/operations.md, "Running under a path", says its requests work as written against a
 * Tessera whose issuer has a path: run them, in order, against a real `tessera start`.
 */
describe('docs/operations.md "Running under a path" walkthrough', () => {
  const page = docsPage('operations.md', {
    section: 'Running under a path',
    issuerPath: '/tenant-a',
  });

  it(
    'runs every shell block of the section without an error, with the answers it shows',
    async () => {
      const stdout = await page.run();
      const issuer = page.url;
      expect(issuer).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/tenant-a$/);
      const lines = stdout.split('\n');
      const answers = lines.filter((line) => line !== '' && !line.startsWith('--- block'));
      expect(answers).toEqual([
        `${issuer}/token`,
        issuer,
        '200',
        '200',
        '404',
        '404',
        '{"status":"ok"}',
        expect.stringMatching(/^location: \/tenant-a\/login\?return_to=\/account\r?$/i),
        expect.stringMatching(
          /^set-cookie: tessera_csrf=[\w-]{43}; Path=\/tenant-a; HttpOnly; SameSite=Lax\r?$/i,
        ),
        issuer,
      ]);
    },
    WALKTHROUGH_TIMEOUT,
  );
});
