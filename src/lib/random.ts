import { randomFillSync } from 'node:crypto';

/**
 * Random bytes drawn from one buffer refilled by the CSPRNG 8 KiB at a time:
 * each call to randomBytes() has a fixed cost that, for 16 or 32 bytes, is
 * most of the work (Node caches randomUUID()'s bytes the same way). Bytes are
 * handed out once and never reused.
 */
const POOL_SIZE = 8192;
const pool = Buffer.allocUnsafe(POOL_SIZE);
let offset = POOL_SIZE;

function take(bytes: number): Buffer {
  if (bytes > POOL_SIZE) return randomFillSync(Buffer.allocUnsafe(bytes));
  if (offset + bytes > POOL_SIZE) {
    randomFillSync(pool);
    offset = 0;
  }
  const slice = pool.subarray(offset, offset + bytes);
  offset += bytes;
  return slice;
}

/** A URL-safe random string carrying `bytes` bytes of entropy (32 bytes = 256 bits by default). */
export function randomToken(bytes = 32): string {
  return take(bytes).toString('base64url');
}

/**
 * A shorter random identifier for records whose id is public (users, clients, sessions). Never
 * starts with `-`, which a command line would read as an option (`tessera client delete -x…`):
 * such a first character becomes `_`, at a cost of under a bit of the id's 128.
 */
export function randomId(bytes = 16): string {
  const id = take(bytes).toString('base64url');
  return id.startsWith('-') ? `_${id.slice(1)}` : id;
}
