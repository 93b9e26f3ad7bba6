import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';

/** Debian's Chromium (playwright cannot download one here), or CHROMIUM_PATH. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * Whether the browser tests can run; they skip when Chromium is missing, except under CI=true,
 * where a missing browser fails the run instead of passing it quietly.
 */
export const chromiumAvailable = existsSync(CHROMIUM);
if (!chromiumAvailable && process.env.CI === 'true') {
  throw new Error(
    `CI=true but Chromium is not at ${CHROMIUM}: the browser tests cannot be skipped in CI`,
  );
}

/** Where the browser tests save their screenshots (made if missing). */
export const RESULTS = join(import.meta.dirname, '..', '..', 'test-results');
mkdirSync(RESULTS, { recursive: true });

/** Headless Chromium as these tests run it. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}
