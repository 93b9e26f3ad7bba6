import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { fold } from '../lib/fold.js';

/** SecLists' 100,000 most common passwords, one per line (see data/README.md). */
const LIST = new URL('./data/common-passwords.txt.gz', import.meta.url);

// Read once, on the first password that needs checking (sign-up, a change), never on the
// token path. The file is read and unzipped off the event loop; building the Set is the
// only work done on it (tens of milliseconds, once).
let list: Promise<ReadonlySet<string>> | undefined;

async function load(): Promise<ReadonlySet<string>> {
  const text = (await promisify(gunzip)(await readFile(LIST))).toString('utf8');
  const set = new Set<string>();
  for (const line of text.split('\n')) if (line !== '') set.add(fold(line));
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
