import { expect } from 'vitest';
import type { Browser, Page } from './browser.js';
import { type HttpAnswer, postAsClient, type TestClient } from './oauth.js';

export const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

/** The answer of POST /device_authorization (RFC 8628 §3.2). */
export interface DeviceAuthorization {
  device_code: string;
  user_code: string;
  verification_uri: string;
  verification_uri_complete: string;
  expires_in: number;
  interval: number;
}

/** Starts a device authorization as `tc`; fails the test unless it answers 200. */
export async function authorizeDevice(
  baseUrl: string,
  tc: TestClient,
  scope = 'openid profile',
): Promise<DeviceAuthorization> {
  const res = await postAsClient(baseUrl, '/device_authorization', tc, { scope });
  expect(res.status, res.text).toBe(200);
  return res.body as unknown as DeviceAuthorization;
}

/** One poll of /token with the device code, as `tc`. */
export function pollToken(
  baseUrl: string,
  tc: TestClient,
  deviceCode: string,
): Promise<HttpAnswer> {
  return postAsClient(baseUrl, '/token', tc, { grant_type: DEVICE_GRANT, device_code: deviceCode });
}

/** Types `userCode` into the "Code" field of /device and presses Continue. */
export async function enterUserCode(browser: Browser, userCode: string): Promise<Page> {
  const page = await browser.get('/device');
  expect(page.status).toBe(200);
  return browser.submit(page, { Code: userCode }, 'Continue');
}

/**
 * The whole person's side for a browser already signed in: the code typed, Continue, then
 * "Allow" or "Deny" on the consent page; returns the final page.
 */
export async function answerDevice(
  browser: Browser,
  userCode: string,
  decision: 'Allow' | 'Deny' = 'Allow',
): Promise<Page> {
  const checked = await enterUserCode(browser, userCode);
  expect(checked.status, checked.text.slice(0, 500)).toBe(303);
  const consent = await browser.follow(checked);
  expect(consent.status, consent.text.slice(0, 500)).toBe(200);
  expect(consent.text).toContain('A device is asking to use your account');
  return browser.submit(consent, {}, decision);
}
