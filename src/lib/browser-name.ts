import { UAParser } from 'ua-parser-js';

/**
 * A signed-in browser as a person recognises it, "Chrome on Linux", from the User-Agent
 * header it signed in with: names only, as versions change under a session and say little.
 * An agent that names no known browser is "Unknown browser" (with its system when known).
 */
export function browserName(userAgent: string | null): string {
  const { browser, os } = new UAParser(userAgent ?? '').getResult();
  const name = browser.name?.trim() || 'Unknown browser';
  const system = os.name?.trim();
  return system ? `${name} on ${system}` : name;
}
