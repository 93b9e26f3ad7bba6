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

/** docs/oauth.md says its commands work as written: run them, in order, against a real `tessera start`. */
describe('docs/oauth.md walkthrough', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let server: TesseraProcess;
  let front: Relay;
  let url: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tessera-docs-'));
    // The issuer, and $TESSERA as the page means it: a relay's address, taken before the server
    // starts on a port of the system's choosing (see relay()).
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
      // `npx tessera` as the page writes it, run from this checkout whatever the working folder.
      `npx() { if [ "$1" = tessera ]; then shift; node ${CLI.map((arg) => JSON.stringify(arg)).join(' ')} "$@"; else command npx "$@"; fi; }`,
      ...shellBlocks('oauth.md').map((block, i) => `echo; echo "--- block ${i + 1}"\n${block}`),
    ].join('\n');
    const { stdout } = await promisify(execFile)('bash', ['-c', script], {
      cwd: dir,
      env,
      maxBuffer: 1 << 22,
    });
    expect(stdout.match(/^--- block \d+$/gm)).toHaveLength(shellBlocks('oauth.md').length);
    expect(stdout).toContain(`${url}/authorize?response_type=code`);
    expect(stdout).toMatch(
      /https:\/\/app\.example\.com\/callback\?code=[\w-]{43}&state=xyzABC123&iss=/,
    );
    const tokens = JSON.parse(readFileSync(join(dir, 'tokens.json'), 'utf8'));
    expect(tokens).toMatchObject({
      token_type: 'Bearer',
      scope: 'openid profile email offline_access',
    });
    expect(tokens.id_token).toBeTruthy();
    expect(stdout).toContain('"preferred_username":"alice"');
    expect(stdout).toContain('"active":true');
    expect(stdout).toContain('the refresh token has already been used');
    expect(stdout).toMatch(/^200$/m);
    expect(stdout).toContain('{"active":false}');
    expect(stdout).toMatch(/"scope":"api:read"/);
    // Asking for more later: only e-mail is new, and the tokens carry the union.
    expect(stdout).toMatch(/^first scope: openid profile$/m);
    expect(stdout).toMatch(/^New: See your e-mail address$/m);
    expect(stdout).toContain('<h2>Already allowed</h2>');
    expect(stdout).toMatch(/^union scope: openid profile email$/m);
    expect(stdout).toContain(
      '"error_description":"body parameter \\"client_id\\" holds the control character U+0000, which Tessera does not accept","field":"client_id"} 400',
    );
  }, 120_000);
});
