import { decodeJwt } from 'jose';
import { describe, expect, it } from 'vitest';
import { docsPage, WALKTHROUGH_TIMEOUT } from '../helpers/docs-page.js';

/** docs/device.md says its commands work as written: run them, in order, against a real `tessera start`. */
describe('docs/device.md walkthrough', () => {
  // The page sleeps `interval` seconds between polls: one keeps the run short.
  const page = docsPage('device.md', { env: { TESSERA_DEVICE_INTERVAL: '1' } });

  it(
    'runs every shell block of the page without an error, with the results it describes',
    async () => {
      const stdout = await page.run();
      const device = page.json('device.json') as Record<string, string | number>;
      expect(device).toMatchObject({
        verification_uri: `${page.url}/device`,
        verification_uri_complete: `${page.url}/device?user_code=${device.user_code}`,
        expires_in: 600,
        interval: 1,
      });
      expect(device.user_code).toMatch(/^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
      expect(stdout).toContain(`open ${page.url}/device and enter ${device.user_code}`);
      expect(stdout).toContain('"error":"authorization_pending"');
      expect(stdout).toContain('A device is asking to use your account');
      expect(stdout).toContain('may now use your account');
      const tokens = page.json('device-tokens.json') as Record<string, string>;
      expect(tokens).toMatchObject({
        token_type: 'Bearer',
        scope: 'openid profile offline_access',
      });
      expect(tokens.refresh_token).toBeTruthy();
      expect(decodeJwt(tokens.id_token!).iss).toBe(page.url);
      expect(stdout).toContain('"preferred_username":"dana"');
      expect(stdout).toContain(
        '{"error":"invalid_grant","error_description":"the device code has already been used"}',
      );
    },
    WALKTHROUGH_TIMEOUT,
  );
});
