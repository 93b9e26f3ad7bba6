import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI } from '../helpers/cli.js';
import { type Relay, relay } from '../helpers/tcp-proxy.js';
import { startTessera, type TesseraProcess } from '../helpers/tessera-process.js';

const ROOT = join(import.meta.dirname, '../..');

/** The shell blocks of a docs page, in order. */
function shellBlocks(page: string): string[] {
  const text = readFileSync(join(ROOT, 'docs', page), 'utf8');
  return [...text.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

/** docs/dpop.md says its commands work as written: run them, in order, against a real `tessera start`. */
describe('docs/dpop.md walkthrough', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let server: TesseraProcess;
  let front: Relay;
  let url: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tessera-dpop-docs-'));
    // The page runs from the repository folder, where jose and oauth4webapi are installed: the
    // scripts it writes find them here the same way.
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
    front = await relay();
    url = front.url;
    env = {
      ...process.env,
      PORT: '0',
      HOST: '127.0.0.1',
      TESSERA_ISSUER: url,
      TESSERA: url,
      DATABASE_URL: `sqlite:${join(dir, 'docs.sqlite')}`,
      TESSERA_DATA_DIR: dir,
      LOG_LEVEL: 'silent',
      NODE_ENV: 'test',
    };
    server = startTessera(env);
    await server.ready();
    front.to(server.port);
  });

  afterAll(async () => {
    server?.child.kill('SIGTERM');
    await server?.exited;
    await front?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs every shell block of the page without an error, with the results it describes', async () => {
    const script = [
      'set -euo pipefail',
      `npx() { if [ "$1" = tessera ]; then shift; node ${CLI.map((arg) => JSON.stringify(arg)).join(' ')} "$@"; else command npx "$@"; fi; }`,
      ...shellBlocks('dpop.md').map((block, i) => `echo; echo "--- block ${i + 1}"\n${block}`),
    ].join('\n');
    const { stdout } = await promisify(execFile)('bash', ['-c', script], {
      cwd: dir,
      env,
      maxBuffer: 1 << 22,
    });
    expect(stdout.match(/^--- block \d+$/gm)).toHaveLength(shellBlocks('dpop.md').length);
    const jkt = /--- block 2\n([\w-]{43})\n/.exec(stdout)?.[1];
    expect(jkt).toBeTruthy();
    expect(stdout).toContain(
      '"error":"invalid_request","error_description":"this client must send a DPoP proof with every token request (dpop_bound_access_tokens)"',
    );
    expect(stdout).toContain(`DPoP\n{"jkt":"${jkt}"}`);
    expect(stdout).toContain(
      '"error":"invalid_dpop_proof","error_description":"the DPoP proof was used before',
    );
    expect(stdout).toContain(`DPoP ${jkt}`);
    expect(stdout).toContain('dpop api:read');
    expect(JSON.parse(readFileSync(join(dir, 'app-tokens.json'), 'utf8'))).toMatchObject({
      token_type: 'DPoP',
    });
    expect(stdout).toContain('"preferred_username":"dora"');
    expect(stdout).toMatch(/^www-authenticate: DPoP error="invalid_token"/im);
    expect(JSON.parse(readFileSync(join(dir, 'refreshed.json'), 'utf8'))).toMatchObject({
      token_type: 'DPoP',
    });
  }, 120_000);
});
