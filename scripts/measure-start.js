// @ts-check
/*
 * How long `tessera start` takes until /healthz answers, and how much memory it holds once it
 * has answered a few requests; the numbers in docs/operations.md ("Start-up time and memory").
 *
 *   node scripts/measure-start.js [--runs N] -- COMMAND…
 *   node scripts/measure-start.js -- node bin/tessera.js start
 *
 * Each run starts COMMAND (on port 0 and a data folder of the script's), reads the address from
 * its log line "Server listening at …", and asks /healthz: the time from spawn until /healthz
 * has answered 200 is the start time. Then it sends 40 requests (the
 * discovery document, the keys, the sign-in page, the stylesheet, /readyz) and reads the
 * process's resident memory (VmRSS in /proc, so Linux only). The data folder is made by a first
 * start that is not counted, so every counted run is a restart: migrations done, keys made.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const split = process.argv.indexOf('--');
const { values } = parseArgs({
  args: process.argv.slice(2, split === -1 ? undefined : split),
  options: { runs: { type: 'string', default: '5' } },
});
const command = split === -1 ? [] : process.argv.slice(split + 1);
if (command.length === 0) {
  console.error('usage: node scripts/measure-start.js [--runs N] -- COMMAND…');
  process.exit(1);
}

/** @param {number} pid */
function rssMiB(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1]);
  return kib / 1024;
}

const dir = mkdtempSync(join(tmpdir(), 'tessera-measure-'));
const env = {
  ...process.env,
  TESSERA_DATA_DIR: join(dir, 'data'),
  DATABASE_URL: `sqlite:${join(dir, 'data', 'tessera.sqlite')}`,
  HOST: '127.0.0.1',
  PORT: '0',
  LOG_LEVEL: 'info',
  NODE_ENV: 'development',
};

/** One start: milliseconds until /healthz answered, and MiB resident after the requests. */
async function once() {
  const started = performance.now();
  const child = spawn(command[0] ?? 'node', command.slice(1), {
    env,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    const url = await new Promise((resolve, reject) => {
      let out = '';
      child.stdout?.setEncoding('utf8').on('data', (/** @type {string} */ chunk) => {
        out += chunk;
        const match = /"Server listening at (http:[^"]+)"/.exec(out);
        if (match) resolve(match[1]);
      });
      void exited.then(() => reject(new Error(`${command.join(' ')} exited:\n${out}`)));
    });
    for (;;) {
      const ok = await fetch(`${url}/healthz`).then(
        (response) => response.ok,
        () => false,
      );
      if (ok) break;
      if (performance.now() - started > 60_000) throw new Error('no answer within 60 s');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const startMs = performance.now() - started;
    const paths = [
      '/.well-known/openid-configuration',
      '/jwks',
      '/login',
      '/assets/tessera.css',
      '/readyz',
    ];
    for (let i = 0; i < 8; i++) {
      for (const path of paths) {
        const response = await fetch(`${url}${path}`);
        if (!response.ok) throw new Error(`${path}: ${response.status}`);
        await response.arrayBuffer();
      }
    }
    return { startMs, rss: rssMiB(/** @type {number} */ (child.pid)) };
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
}

/** @param {number[]} xs */
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

try {
  await once(); // makes the data folder: migrations, secret, signing keys
  const runs = [];
  for (let i = 0; i < Number(values.runs); i++) runs.push(await once());
  const starts = runs.map((r) => r.startMs);
  const rss = runs.map((r) => r.rss);
  const list = (/** @type {number[]} */ xs) => xs.map((x) => x.toFixed(0)).join(', ');
  console.log(`${command.join(' ')}: ${runs.length} runs`);
  console.log(
    `  start until /healthz answers: median ${median(starts).toFixed(0)} ms (${list(starts)})`,
  );
  console.log(
    `  resident memory after 40 requests: median ${median(rss).toFixed(0)} MiB (${list(rss)})`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
