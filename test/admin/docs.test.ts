import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, startServer } from '../helpers/app.js';
import { TEST_ADMIN_KEY } from '../helpers/config.js';

const ROOT = join(import.meta.dirname, '../..');

/** The shell blocks of a docs page, in order. */
function shellBlocks(page: string): string[] {
  const text = readFileSync(join(ROOT, 'docs', page), 'utf8');
  return [...text.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

/** docs/clients.md says its commands work as written: run them, in order, against a live server. */
describe('docs/clients.md', () => {
  let server: RunningServer;
  let dir: string;
  beforeAll(async () => {
    server = await startServer();
    dir = mkdtempSync(join(tmpdir(), 'tessera-docs-clients-'));
  });
  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs every shell block of the page, with the answers it shows', async () => {
    const blocks = shellBlocks('clients.md');
    const script = [
      'set -euo pipefail',
      ...blocks.map((block, i) => `echo; echo "--- block ${i + 1}"\n${block}`),
    ].join('\n');
    const { stdout } = await promisify(execFile)('bash', ['-c', script], {
      cwd: dir,
      env: { ...process.env, TESSERA: server.url, TESSERA_ADMIN_KEY: TEST_ADMIN_KEY },
      maxBuffer: 1 << 22,
    });
    expect(stdout.match(/^--- block \d+$/gm)).toHaveLength(blocks.length);
    expect(stdout).toContain('"client_name":"My web app"');
    expect(stdout).toContain('"redirect_url":"https://localhost:8080/test"');
    expect(stdout).toContain('"client_type":"public"');
    expect(stdout).toMatch(/^Bearer$/m);
    expect(stdout).toContain(
      'must use https (http is allowed only on loopback)","field":"redirect_uris"} 400',
    );
    expect(stdout).toContain('"first_party":true');
    expect(stdout).toMatch(/^rotated$/m);
    expect(stdout).toMatch(/^204$/m);
    expect(stdout).toContain('{"error":"not_found","error_description":"client not found"} 404');
    expect(stdout).toContain('{"success":true,"clients_loaded":3}');
    expect(stdout).toContain('"username":"bob"');
    expect(stdout).toContain('"role":"admin"');
    expect(stdout).toContain(
      '"username":"carol","email":"Carol@example.com","email_verified":true',
    );
    expect(stdout).toMatch(/^\{"id":"[^"]+","username":"carol","sessions_ended":0\}$/m);
    expect(stdout).toContain(
      '{"error":"invalid_request","error_description":"password must be at least 10 characters","field":"password"} 400',
    );
    expect(stdout).toMatch(
      /"This password is one of the most commonly used passwords[^"]*","field":"password"\} 400/,
    );
    expect(stdout).not.toContain('a new song for the choir');
    expect(stdout).toContain(
      '{"error":"invalid_request","error_description":"the body is not valid JSON"} 400',
    );
    expect(stdout).toContain(
      '{"error":"unauthorized","error_description":"the X-Admin-Key is not valid"} 401',
    );
  });
});
