import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { decodeJwt } from 'jose';
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

/** docs/device.md says its commands work as written: run them, in order, against a real `tessera start`. */
describe('docs/device.md walkthrough', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let server: TesseraProcess;
  let front: Relay;
  let url: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tessera-device-docs-'));
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
      // The page sleeps `interval` seconds between polls: one keeps the run short.
      TESSERA_DEVICE_INTERVAL: '1',
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
    const blocks = shellBlocks('device.md');
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
    const device = JSON.parse(readFileSync(join(dir, 'device.json'), 'utf8'));
    expect(device).toMatchObject({
      verification_uri: `${url}/device`,
      verification_uri_complete: `${url}/device?user_code=${device.user_code}`,
      expires_in: 600,
      interval: 1,
    });
    expect(device.user_code).toMatch(/^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
    expect(stdout).toContain(`open ${url}/device and enter ${device.user_code}`);
    expect(stdout).toContain('"error":"authorization_pending"');
    expect(stdout).toContain('A device is asking to use your account');
    expect(stdout).toContain('may now use your account');
    const tokens = JSON.parse(readFileSync(join(dir, 'device-tokens.json'), 'utf8'));
    expect(tokens).toMatchObject({ token_type: 'Bearer', scope: 'openid profile offline_access' });
    expect(tokens.refresh_token).toBeTruthy();
    expect(decodeJwt(tokens.id_token).iss).toBe(url);
    expect(stdout).toContain('"preferred_username":"dana"');
    expect(stdout).toContain(
      '{"error":"invalid_grant","error_description":"the device code has already been used"}',
    );
  });
});
