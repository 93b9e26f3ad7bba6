import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { fold } from '../lib/fold.js';

/** SecLists' 100,000 most common passwords, one per line (see data/README.md). */
const LIST = new URL('./wordlists/common-passwords.txt.gz', import.meta.url);

/** Lines folded between two turns of the event loop: a few milliseconds of work each. */
const CHUNK = 2_000;

// Read once, on the first password that needs checking (sign-up, a change), never on the
// token path. The file is read and unzipped off the event loop; the Set (about 6 MB) is
// built in chunks, so that requests arriving meanwhile wait a few milliseconds at most
// instead of the whole build (some 60 ms).
let list: Promise<ReadonlySet<string>> | undefined;

async function load(): Promise<ReadonlySet<string>> {
  const text = (await promisify(gunzip)(await readFile(LIST))).toString('utf8');
  const set = new Set<string>();
  // Line by line rather than split('\n'), which alone would hold the event loop some 10 ms.
  for (let start = 0, n = 0; start < text.length; n++) {
    const end = text.indexOf('\n', start);
    const line = text.slice(start, end === -1 ? text.length : end);
    if (line !== '') set.add(fold(line));
    start = end === -1 ? text.length : end + 1;
    if (n % CHUNK === CHUNK - 1) await new Promise((resolve) => setImmediate(resolve));
  }
  return set;
}

/** Whether `password` is on the list of common passwords, ignoring case. */
export async function isCommonPassword(password: string): Promise<boolean> {
  list ??= load().catch((error: unknown) => {
    // A failed read is not remembered: the next check tries again.
    list = undefined;
    throw error;
  });
  return (await list).has(fold(password));
}
