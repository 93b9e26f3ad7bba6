// @ts-check
/*
 * An MCP server protected by Tessera: the MCP SDK's streamable HTTP transport behind the
 * resource-server kit's plain Node middleware (tessera/resource). Stateless: every POST gets a
 * fresh McpServer and transport, so the server keeps no sessions and any number of copies can run
 * behind a load balancer; what it keeps (the notes) is the example's own data.
 *
 * What the kit does here: serves the protected resource metadata (RFC 9728) that tells an MCP
 * client which authorization server to use, answers 401 with `WWW-Authenticate: Bearer
 * resource_metadata="…"` without a valid token, checks that a token's `aud` is this server's
 * URL, and answers 403 insufficient_scope naming the scope a tool needs.
 */
import { createServer } from 'node:http';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { bearerAuth, metadataHandler } from 'tessera/resource';
import { registerTools, SCOPES, scopesNeeded } from './tools.js';

/** Bodies past this are refused: a tool call is a few hundred bytes. */
const MAX_BODY = 1 << 20;

/**
 * @typedef {object} McpServerOptions
 * @property {string} issuer Tessera's issuer URL.
 * @property {string} [resource] The MCP endpoint's URL, which is also its API identifier in
 *   Tessera and the `aud` of its tokens. Default: `http://{host}:{port}/mcp`.
 * @property {number} [port] Default 0: a port the system chooses.
 * @property {string} [host] Default 127.0.0.1.
 * @property {{ clientId: string, clientSecret: string }} [introspection] The API's credentials,
 *   when its tokens are opaque and must be introspected.
 *
 * @typedef {object} RunningMcpServer
 * @property {string} url The MCP endpoint (the resource identifier).
 * @property {number} port
 * @property {() => Promise<void>} close
 *
 * @typedef {import('node:http').IncomingMessage & { auth?: import('tessera/resource').TokenInfo }} AuthedRequest
 * @typedef {import('node:http').ServerResponse} Response
 * @typedef {(req: AuthedRequest, res: Response, next: (error?: unknown) => void) => void} Middleware
 */

/**
 * Starts the example MCP server and resolves once it listens.
 * @param {McpServerOptions} options
 * @returns {Promise<RunningMcpServer>}
 */
export async function startMcpServer(options) {
  const host = options.host ?? '127.0.0.1';
  const http = createServer();
  await new Promise((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port ?? 0, host, () => resolve(undefined));
  });
  const port = /** @type {import('node:net').AddressInfo} */ (http.address()).port;
  const resource = options.resource ?? `http://${urlHost(host)}:${port}/mcp`;
  const kit = {
    issuer: options.issuer,
    resource,
    scopesSupported: SCOPES,
    resourceName: 'Tessera example MCP server',
    ...(options.introspection ? { introspection: options.introspection } : {}),
  };
  const metadata = metadataHandler(kit);
  const guard = guards(kit);
  const endpoint = new URL(resource).pathname;
  const notes = new Map();

  http.on('request', (/** @type {AuthedRequest} */ req, /** @type {Response} */ res) => {
    metadata(req, res, () => {
      if (new URL(req.url ?? '/', 'http://x').pathname !== endpoint) {
        return send(res, 404, { error: 'not_found' });
      }
      guard([])(req, res, (error) => {
        if (error) return fail(res, error);
        serveMcp(req, res, guard, notes).catch((e) => fail(res, e));
      });
    });
  });

  return {
    url: resource,
    port,
    close: () =>
      new Promise((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      }),
  };
}

/**
 * The MCP endpoint, for a caller whose token the kit has accepted. Only POST: a stateless server
 * has no stream to offer on GET and no session to end with DELETE (405, as the transport
 * specification says).
 * @param {AuthedRequest} req
 * @param {Response} res
 * @param {(scopes: string[]) => Middleware} guard
 * @param {Map<string, string[]>} notes
 */
async function serveMcp(req, res, guard, notes) {
  if (req.method !== 'POST') {
    res.setHeader('allow', 'POST');
    return send(res, 405, rpcError(-32000, 'Method not allowed: this server is stateless'));
  }
  const body = await readJson(req, res);
  if (body === undefined) return;
  const needed = scopesNeeded(body);
  const granted = req.auth?.scopes ?? [];
  if (needed.some((scope) => !granted.includes(scope))) {
    // The kit's guard for these scopes answers 403 insufficient_scope, naming them.
    return guard(needed)(req, res, (error) => fail(res, error ?? new Error('scope check passed')));
  }
  const server = new McpServer({ name: 'tessera-example', version: '1.0.0' });
  registerTools(server, notes);
  const transport = new StreamableHTTPServerTransport({
    sessionIdGenerator: undefined,
    enableJsonResponse: true,
  });
  res.on('close', () => {
    transport.close().catch(() => {});
    server.close().catch(() => {});
  });
  await server.connect(transport);
  await transport.handleRequest(req, res, body);
}

/**
 * One bearerAuth middleware per set of required scopes, made once and reused.
 * @param {import('tessera/resource').ResourceOptions} kit
 * @returns {(scopes: string[]) => Middleware}
 */
function guards(kit) {
  /** @type {Map<string, Middleware>} */
  const made = new Map();
  return (scopes) => {
    const key = scopes.join(' ');
    let guard = made.get(key);
    if (!guard) {
      guard = /** @type {Middleware} */ (bearerAuth({ ...kit, requiredScopes: scopes }));
      made.set(key, guard);
    }
    return guard;
  };
}

/**
 * The request's JSON body, or undefined once an error has been answered.
 * @param {AuthedRequest} req
 * @param {Response} res
 */
async function readJson(req, res) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > MAX_BODY) {
      // The rest is left unread: the connection cannot carry another request, so it ends here.
      res.setHeader('connection', 'close');
      send(res, 413, rpcError(-32600, 'Request body too large'));
      return undefined;
    }
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    send(res, 400, rpcError(-32700, 'Parse error: the body is not JSON'));
    return undefined;
  }
}

/** @param {number} code @param {string} message */
function rpcError(code, message) {
  return { jsonrpc: '2.0', error: { code, message }, id: null };
}

/** @param {Response} res @param {number} status @param {unknown} body */
function send(res, status, body) {
  res.statusCode = status;
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify(body));
}

/** An unexpected failure: a bug, logged, answered 500 if nothing was sent yet. */
function fail(/** @type {Response} */ res, /** @type {unknown} */ error) {
  console.error(error);
  if (!res.headersSent) send(res, 500, rpcError(-32603, 'Internal error'));
  else res.end();
}

/** How `host` is written in a URL: an address that listens everywhere is reached as localhost. */
function urlHost(/** @type {string} */ host) {
  if (host === '0.0.0.0' || host === '::') return 'localhost';
  return host.includes(':') ? `[${host}]` : host;
}
