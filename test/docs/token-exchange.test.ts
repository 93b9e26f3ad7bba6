import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI } from '../helpers/cli.js';
import { type ExternalIssuer, startExternalIssuer } from '../helpers/external-issuer.js';
import { type Relay, relay } from '../helpers/tcp-proxy.js';
import { startTessera, type TesseraProcess } from '../helpers/tessera-process.js';

const ROOT = join(import.meta.dirname, '../..');
const PAGE = 'token-exchange.md';

function shellBlocks(page: string): string[] {
  const text = readFileSync(join(ROOT, 'docs', page), 'utf8');
  return [...text.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

/**
 * docs/token-exchange.md says its commands work as written: run them, in order, against a real
 * `tessera start` that trusts a small jose-signed provider, whose ID token stands for the one a
 * front end would post.
 */
describe('docs/token-exchange.md', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let server: TesseraProcess;
  let front: Relay;
  let idp: ExternalIssuer;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tessera-docs-exchange-'));
    front = await relay();
    idp = await startExternalIssuer('front-end-at-idp');
    env = {
      ...process.env,
      PORT: '0',
      HOST: '127.0.0.1',
      TESSERA_ISSUER: front.url,
      TESSERA: front.url,
      DATABASE_URL: `sqlite:${join(dir, 'docs.sqlite')}`,
      TESSERA_DATA_DIR: dir,
      TESSERA_TRUSTED_ISSUERS: JSON.stringify([
        { issuer: idp.issuer, audience: 'front-end-at-idp' },
      ]),
      ISSUER: idp.issuer,
      EXTERNAL_SUB: 'alice-at-idp',
      ID_TOKEN: await idp.idToken({ sub: 'alice-at-idp' }),
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
    await idp?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs every shell block of the page, with the results it describes', async () => {
    const blocks = shellBlocks(PAGE);
    const script = [
      'set -euo pipefail',
      `npx() { if [ "$1" = tessera ]; then shift; node ${CLI.map((arg) => JSON.stringify(arg)).join(' ')} "$@"; else command npx "$@"; fi; }`,
      ...blocks.map((block, i) => `echo; echo "--- block ${i + 1}"\n${block}`),
    ].join('\n');
    const { stdout } = await promisify(execFile)('bash', ['-c', script], {
      cwd: dir,
      env,
      maxBuffer: 1 << 22,
    });
    expect(stdout.match(/^--- block \d+$/gm)).toHaveLength(blocks.length);
    const orders = JSON.parse(readFileSync(join(dir, 'orders.json'), 'utf8'));
    const exchanged = JSON.parse(readFileSync(join(dir, 'exchanged.json'), 'utf8'));
    expect(exchanged).toMatchObject({
      issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      token_type: 'Bearer',
      scope: 'orders:read',
    });
    expect(exchanged.refresh_token).toBeUndefined();
    expect(stdout).toContain('"aud":"https://billing.example.com"');
    expect(stdout).toContain(`"act":{"sub":"${orders.client_id}"}`);
    expect(stdout).toContain('"active":true');
    expect(stdout).toMatch(/^true$/m);
    expect(stdout).toContain('"error":"invalid_scope"');
    expect(stdout).toContain('"error":"invalid_target"');
    expect(stdout).toMatch(/"sub":"[\w-]+"}/);
    expect(stdout).toContain('no local account is linked to subject \\"alice-at-idp\\"');
    // Nine CLI runs, each a process of its own: more than the default 30 s on a busy machine.
  }, 120_000);
});
