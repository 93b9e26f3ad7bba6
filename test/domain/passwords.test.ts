import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import {
  DEFAULT_HASH_PARAMS,
  hashParams,
  hashPassword,
  needsRehash,
  verifyPassword,
} from '../../src/domain/passwords.js';

/** The niceness of each thread of this process (field 19 of /proc/self/task/TID/stat). */
function threadNiceness(): number[] {
  return readdirSync('/proc/self/task').map((tid) => {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    // Fields after the parenthesised command name; niceness is the 19th field overall.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[16]);
  });
}

describe('password hashing', () => {
  it('hashes with argon2id and verifies only the right password', async () => {
    const hash = await hashPassword('correct horse battery');
    expect(hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(await verifyPassword(hash, 'correct horse battery')).toBe(true);
    expect(await verifyPassword(hash, 'correct horse battery ')).toBe(false);
  });

  it('hashes with the argon2id parameters of TESSERA_ARGON2_*, 19 MiB, 2 passes, 1 lane by default', async () => {
    expect(hashParams(parseConfig({}))).toEqual(DEFAULT_HASH_PARAMS);
    expect(DEFAULT_HASH_PARAMS).toEqual({ memoryCost: 19456, timeCost: 2, parallelism: 1 });
    const params = hashParams(
      parseConfig({
        TESSERA_ARGON2_MEMORY_KIB: '8192',
        TESSERA_ARGON2_TIME_COST: '3',
        TESSERA_ARGON2_PARALLELISM: '2',
      }),
    );
    const hash = await hashPassword('correct horse battery', params);
    expect(hash).toMatch(/^\$argon2id\$v=19\$m=8192,t=3,p=2\$/);
    expect(await verifyPassword(hash, 'correct horse battery', DEFAULT_HASH_PARAMS)).toBe(true);
    expect(needsRehash(hash, params)).toBe(false);
    expect(needsRehash(hash, DEFAULT_HASH_PARAMS)).toBe(true);
    expect(needsRehash(hash, { ...params, timeCost: 2 })).toBe(true);
    expect(needsRehash(hash, { ...params, parallelism: 1 })).toBe(true);
    expect(needsRehash('$argon2i$v=19$m=8192,t=3,p=2$c2FsdA$aGFzaA', params)).toBe(true);
  });

  it('refuses argon2id memory under 8192 KiB and a time cost or parallelism under 1', () => {
    expect(parseConfig({ TESSERA_ARGON2_MEMORY_KIB: '8192' }).argon2MemoryKib).toBe(8192);
    expect(() => parseConfig({ TESSERA_ARGON2_MEMORY_KIB: '8191' })).toThrow(
      'TESSERA_ARGON2_MEMORY_KIB: must be at least 8192',
    );
    expect(() => parseConfig({ TESSERA_ARGON2_TIME_COST: '0' })).toThrow();
    expect(() => parseConfig({ TESSERA_ARGON2_PARALLELISM: '0' })).toThrow();
  });

  it('answers false, never throws, for a missing or malformed hash', async () => {
    expect(await verifyPassword(null, 'anything')).toBe(false);
    expect(await verifyPassword(undefined, 'anything')).toBe(false);
    expect(await verifyPassword('not a hash', 'anything')).toBe(false);
  });

  it('serves many sign-ins at once', async () => {
    const hash = await hashPassword('many at once');
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) => verifyPassword(hash, i % 2 ? 'many at once' : 'no')),
    );
    expect(results).toEqual(Array.from({ length: 12 }, (_, i) => i % 2 === 1));
  });

  it.runIf(process.platform === 'linux')(
    'hashes in a thread of lower priority than the event loop',
    async () => {
      await hashPassword('warm the workers up');
      const nice = threadNiceness();
      expect(nice).toContain(8);
      // The event loop's own thread (the first task) keeps its priority.
      expect(nice[0]).toBe(0);
    },
  );
});
