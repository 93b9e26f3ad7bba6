import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuthRequest, bearerAuth, type TokenInfo } from '../../src/resource/index.js';
import { type RunningServer, startServer } from '../helpers/app.js';
import { makeClient, postAsClient } from '../helpers/oauth.js';

// The kit's TokenInfo is the MCP SDK's AuthInfo: checked by the compiler, here.
const asAuthInfo = (info: TokenInfo): AuthInfo => info;

/**
 * The kit in front of the MCP SDK's StreamableHTTPServerTransport: what the middleware puts on
 * req.auth reaches a tool handler as extra.authInfo. (The whole MCP flow, discovery and
 * registration included, is the MCP example's end-to-end test.)
 */
describe('tessera/resource with the MCP SDK', () => {
  let tessera: RunningServer;
  let mcpUrl: string;
  let close: () => void;

  beforeAll(async () => {
    tessera = await startServer();
    const auth = bearerAuth({
      issuer: tessera.url,
      resource: tessera.url,
      requiredScopes: ['mcp:tools'],
    });
    const http = createServer((req, res) =>
      auth(req, res, async (error) => {
        if (error) return void res.writeHead(503).end();
        // Stateless: a server and a transport per request, as the SDK's examples do.
        const server = new McpServer({ name: 'kit-test', version: '1.0.0' });
        server.registerTool('whoami', { description: 'Who is calling' }, async (extra) => ({
          content: [{ type: 'text', text: JSON.stringify(extra.authInfo) }],
        }));
        const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
        res.on('close', () => void transport.close());
        await server.connect(transport);
        await transport.handleRequest(req as AuthRequest, res);
      }),
    );
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    mcpUrl = `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`;
    close = () => {
      http.closeAllConnections();
      http.close();
    };
  });
  afterAll(async () => {
    close?.();
    await tessera?.close();
  });

  it('hands the checked token to the tool handler as extra.authInfo', async () => {
    const tc = await makeClient(tessera.app.tessera, {
      grantTypes: ['client_credentials'],
      scopes: ['mcp:tools'],
    });
    const res = await postAsClient(tessera.url, '/token', tc, { grant_type: 'client_credentials' });
    const token = String(res.body.access_token);
    const client = new Client({ name: 'kit-test-client', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(mcpUrl), {
        requestInit: { headers: { authorization: `Bearer ${token}` } },
      }),
    );
    try {
      const result = await client.callTool({ name: 'whoami', arguments: {} });
      const [content] = result.content as { type: string; text: string }[];
      const authInfo = JSON.parse(content!.text);
      expect(authInfo).toMatchObject({
        token,
        clientId: tc.client.id,
        scopes: ['mcp:tools'],
        resource: new URL(tessera.url).href,
        extra: { sub: tc.client.id },
      });
      expect(typeof asAuthInfo).toBe('function');
    } finally {
      await client.close();
    }
  });

  it('refuses the MCP client without a token: 401 naming the resource metadata', async () => {
    const res = await fetch(mcpUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer resource_metadata="/);
  });
});
