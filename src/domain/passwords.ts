import { hashInWorker, verifyInWorker } from './password-worker.js';

// OWASP's argon2id baseline (19 MiB, 2 passes), hashed in low-priority worker threads
// (password-worker.ts) so that sign-ins never take the CPU from token requests.
const OPTIONS = {
  algorithm: 2 /* Algorithm.Argon2id: a const enum, not importable under verbatimModuleSyntax */,
  memoryCost: 19456,
  timeCost: 2,
  parallelism: 1,
};

export function hashPassword(password: string): Promise<string> {
  return hashInWorker(password, OPTIONS);
}

// A hash of a password nobody has, verified when the account does not exist,
// so that the answer takes as long either way and does not reveal which accounts exist.
let decoy: Promise<string> | undefined;

export async function verifyPassword(
  passwordHash: string | null | undefined,
  password: string,
): Promise<boolean> {
  if (!passwordHash) {
    decoy ??= hashPassword('decoy password that matches nothing');
    await verifyInWorker(await decoy, password).catch(() => false);
    return false;
  }
  try {
    return await verifyInWorker(passwordHash, password);
  } catch {
    return false;
  }
}
