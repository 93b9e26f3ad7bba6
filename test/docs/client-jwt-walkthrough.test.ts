import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI } from '../helpers/cli.js';
import { shellBlocks, WALKTHROUGH_TIMEOUT } from '../helpers/docs-page.js';
import { type Relay, relay } from '../helpers/tcp-proxy.js';
import { startTessera, type TesseraProcess } from '../helpers/tessera-process.js';

/**
 * docs/client-authentication.md and docs/jwt-bearer.md say their commands work as written: run
 * them, in order (the second page uses the first one's key and script), against a real
 * `tessera start`. Both pages in one shell, so not through docsPage(), which runs one page.
 */
describe('docs/client-authentication.md and docs/jwt-bearer.md', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let server: TesseraProcess;
  let front: Relay;
  let url: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tessera-docs-jwt-'));
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

  it(
    'runs every shell block of both pages, with the results they describe',
    async () => {
      const blocks = [...shellBlocks('client-authentication.md'), ...shellBlocks('jwt-bearer.md')];
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
      const keyed = JSON.parse(readFileSync(join(dir, 'keyed-token.json'), 'utf8'));
      expect(keyed).toMatchObject({ token_type: 'Bearer', scope: 'api:read' });
      expect(stdout).toContain(
        'client_assertion was used before (its jti has been seen): sign a new one for each request',
      );
      expect(stdout).toContain('"active":true');
      expect(stdout).toContain(
        'this client must authenticate with a JWT signed with its secret (client_secret_jwt)',
      );
      // client_secret_jwt, the JWT bearer grant for itself, and for Bob.
      expect(
        stdout.match(/"token_type":"Bearer","expires_in":3600,"scope":"api:read"/g)!.length,
      ).toBe(3);
      expect(stdout).toContain('"email":"bob@example.com"');
      expect(stdout).toContain('the client may not act for \\"someone-else\\"');
    },
    WALKTHROUGH_TIMEOUT,
  );
});
