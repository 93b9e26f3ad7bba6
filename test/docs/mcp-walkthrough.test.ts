import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { docsPage, WALKTHROUGH_TIMEOUT } from '../helpers/docs-page.js';

/** A port the system has just found free, for the MCP server the page starts. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const MCP = `http://127.0.0.1:${await freePort()}/mcp`;

/**
 * docs/mcp.md says its commands work as written: run them, in order, against a real
 * `tessera start` with registration open, starting the example MCP server as the page does.
 */
describe('docs/mcp.md walkthrough', () => {
  const page = docsPage('mcp.md', {
    links: ['examples'],
    env: {
      TESSERA_REGISTRATION: 'open',
      MCP_RESOURCE: MCP,
    },
    shellEnv: {
      // `node examples/mcp-server/main.js` as the page writes it, with tessera/resource taken
      // from the sources (the `tessera-source` export condition, through tsx) rather than from a
      // dist/ that may be stale: test/ops/build.test.ts runs the example on the build.
      NODE_OPTIONS: `--import ${pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href} --conditions=tessera-source`,
    },
  });

  it(
    'runs every shell block of the page without an error, with the results it describes',
    async () => {
      const stdout = await page.run();
      const origin = new URL(MCP).origin;
      expect(stdout).toContain(`${MCP} notes:read notes:write`);
      expect(stdout).toMatch(/^HTTP\/1\.1 401 Unauthorized/m);
      expect(stdout).toContain(
        `resource_metadata="${origin}/.well-known/oauth-protected-resource/mcp"`,
      );
      expect(page.json('prm.json')).toMatchObject({
        resource: MCP,
        authorization_servers: [page.url],
        scopes_supported: ['notes:read', 'notes:write'],
      });
      expect(stdout).toContain(`${page.url}\n${page.url}/register\nS256\ntrue\n`);
      // The consent page named the API the client asked for.
      expect(stdout).toMatch(/^Notes MCP server$/m);
      // The token is for the MCP server, and the tool saw it so.
      expect(stdout.match(new RegExp(`^${MCP}$`, 'gm'))?.length).toBe(2);
    },
    WALKTHROUGH_TIMEOUT,
  );
});
