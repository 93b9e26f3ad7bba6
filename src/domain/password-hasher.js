// @ts-check
// The worker thread of password-worker.ts: argon2id hashes and checks, one at a time, at the
// niceness it is given. JavaScript, not TypeScript, so that it runs as it is from src/ (tests,
// the benchmark) and from dist/: Node 20's worker threads do not take tsx's loader.
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { hashSync, verifySync } from '@node-rs/argon2';

// On Linux niceness is per thread, so this lowers this thread only, not the event loop's.
if (process.platform === 'linux') {
  try {
    setPriority(workerData.nice);
  } catch {
    // Not permitted here: hash at the normal priority.
  }
}

parentPort?.on('message', (/** @type {import('./password-worker.js').HasherRequest} */ request) => {
  /** @type {import('./password-worker.js').HasherReply} */
  let reply;
  try {
    const result =
      request.op === 'hash'
        ? hashSync(request.password, request.options)
        : verifySync(request.hash, request.password);
    reply = { id: request.id, result };
  } catch (error) {
    reply = { id: request.id, error: error instanceof Error ? error.message : String(error) };
  }
  parentPort?.postMessage(reply);
});
