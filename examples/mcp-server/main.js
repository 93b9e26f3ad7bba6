// @ts-check
/*
 * Runs the example MCP server from the environment:
 *   TESSERA_ISSUER  Tessera's issuer URL (required)
 *   MCP_RESOURCE    the MCP endpoint's public URL, registered in Tessera as the API's identifier
 *                   (default http://localhost:3001/mcp)
 *   MCP_PORT, MCP_HOST  where to listen (default: MCP_RESOURCE's port, or 3001; 127.0.0.1); not
 *                   PORT and HOST, which Tessera reads, so that one shell or .env can hold both
 *   MCP_INTROSPECTION_CLIENT_ID, MCP_INTROSPECTION_CLIENT_SECRET
 *                   the API's credentials, needed only when its tokens are opaque
 */
import { startMcpServer } from './server.js';

const issuer = process.env.TESSERA_ISSUER;
if (!issuer) {
  console.error('Set TESSERA_ISSUER to the URL of your Tessera, e.g. http://localhost:3000');
  process.exit(2);
}
const resource = process.env.MCP_RESOURCE ?? 'http://localhost:3001/mcp';
const port = Number(process.env.MCP_PORT ?? (new URL(resource).port || 3001));
const { MCP_INTROSPECTION_CLIENT_ID: clientId, MCP_INTROSPECTION_CLIENT_SECRET: clientSecret } =
  process.env;

const server = await startMcpServer({
  issuer,
  resource,
  port,
  host: process.env.MCP_HOST ?? '127.0.0.1',
  ...(clientId && clientSecret ? { introspection: { clientId, clientSecret } } : {}),
});
console.log(`MCP server listening on port ${server.port}; endpoint ${server.url}`);

for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM'])) {
  process.once(signal, () => {
    void server.close().then(() => process.exit(0));
  });
}
