import type { Config } from '../config.js';
import { hashInWorker, verifyInWorker } from './password-worker.js';

/** The argon2id cost of a password hash: TESSERA_ARGON2_MEMORY_KIB, _TIME_COST, _PARALLELISM. */
export interface HashParams {
  /** KiB. */
  memoryCost: number;
  timeCost: number;
  parallelism: number;
}

/** OWASP's argon2id baseline (19 MiB, 2 passes): the settings' defaults. */
export const DEFAULT_HASH_PARAMS: HashParams = { memoryCost: 19456, timeCost: 2, parallelism: 1 };

/** The parameters the settings ask for. */
export const hashParams = (
  config: Pick<Config, 'argon2MemoryKib' | 'argon2TimeCost' | 'argon2Parallelism'>,
): HashParams => ({
  memoryCost: config.argon2MemoryKib,
  timeCost: config.argon2TimeCost,
  parallelism: config.argon2Parallelism,
});

// Hashed in low-priority worker threads (password-worker.ts) so that sign-ins never take the CPU
// from token requests.
export function hashPassword(
  password: string,
  params: HashParams = DEFAULT_HASH_PARAMS,
): Promise<string> {
  return hashInWorker(password, {
    algorithm: 2 /* Algorithm.Argon2id: a const enum, not importable under verbatimModuleSyntax */,
    ...params,
  });
}

const HEADER = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$/;

/**
 * Whether a stored hash was made with other parameters than `params` (or is not an argon2id
 * hash of this version at all), so that it should be made again at the next sign-in.
 */
export function needsRehash(passwordHash: string, params: HashParams): boolean {
  const found = HEADER.exec(passwordHash);
  if (!found) return true;
  return (
    Number(found[1]) !== params.memoryCost ||
    Number(found[2]) !== params.timeCost ||
    Number(found[3]) !== params.parallelism
  );
}

// A hash of a password nobody has, per parameters, verified when the account does not exist,
// so that the answer takes as long either way and does not reveal which accounts exist.
const decoys = new Map<string, Promise<string>>();

export async function verifyPassword(
  passwordHash: string | null | undefined,
  password: string,
  params: HashParams = DEFAULT_HASH_PARAMS,
): Promise<boolean> {
  if (!passwordHash) {
    const key = `${params.memoryCost},${params.timeCost},${params.parallelism}`;
    let decoy = decoys.get(key);
    if (!decoy) {
      decoy = hashPassword('decoy password that matches nothing', params);
      decoys.set(key, decoy);
    }
    await verifyInWorker(await decoy, password).catch(() => false);
    return false;
  }
  try {
    return await verifyInWorker(passwordHash, password);
  } catch {
    return false;
  }
}
