import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
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

/** docs/par.md says its commands work as written: run them, in order, against a real `tessera start`. */
describe('docs/par.md walkthrough', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let server: TesseraProcess;
  let front: Relay;
  let url: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tessera-docs-par-'));
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
      ...shellBlocks('par.md').map((block, i) => `echo; echo "--- block ${i + 1}"\n${block}`),
    ].join('\n');
    const { stdout } = await promisify(execFile)('bash', ['-c', script], {
      cwd: dir,
      env,
      maxBuffer: 1 << 22,
    });
    expect(stdout.match(/^--- block \d+$/gm)).toHaveLength(shellBlocks('par.md').length);
    // Without PAR, this client is sent back with invalid_request.
    expect(stdout).toMatch(
      /^https:\/\/app\.example\.com\/callback\?error=invalid_request&error_description=this\+client\+must\+push.*&state=plain1&iss=/m,
    );
    expect(stdout).toMatch(
      /^\{"request_uri":"urn:ietf:params:oauth:request_uri:[\w-]{43}","expires_in":60\}$/m,
    );
    expect(stdout).toMatch(/"error":"invalid_client".* 401$/m);
    expect(stdout).toMatch(
      /"error":"invalid_request","error_description":"redirect_uri does not match.* 400$/m,
    );
    // The scope added in the query did not reach the consent page.
    expect(stdout).toMatch(/^0$/m);
    expect(stdout).toMatch(
      /^https:\/\/app\.example\.com\/callback\?code=[\w-]{43}&state=par123&iss=/m,
    );
    expect(stdout).toMatch(/^openid profile$/m);
    expect(stdout).toMatch(/^400$/m);
    expect(stdout).toContain('request_uri has already been used');
  });
});
