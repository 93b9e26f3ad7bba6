import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';

const TLS_DIR = new URL('./tls/', import.meta.url);
/** The self-signed certificate of 127.0.0.1 (test/helpers/tls/README.md). */
export const LOOPBACK_TLS = {
  cert: readFileSync(new URL('loopback-cert.pem', TLS_DIR)),
  key: readFileSync(new URL('loopback-key.pem', TLS_DIR)),
};

export interface DocumentServerOptions {
  /** Serve https with the self-signed loopback certificate (the MCP SDK wants https URLs). */
  tls?: boolean;
}

/** What the server answers at one path. */
export interface DocumentRoute {
  status?: number;
  headers?: Record<string, string>;
  /** A JSON value (serialised), or raw text as it is. */
  body?: unknown;
  /** Milliseconds to wait before answering. */
  delayMs?: number;
}

export interface DocumentServer {
  /** http://127.0.0.1:PORT */
  url: string;
  /** Serves `route` at `path`; a function builds it anew at each request. */
  serve(path: string, route: DocumentRoute | (() => DocumentRoute)): string;
  /** How many requests reached `path`. */
  hits(path: string): number;
  close(): Promise<void>;
}

/**
 * A real HTTP server on loopback that serves Client ID Metadata Documents (and misbehaves on
 * request: slow, oversized, redirecting), for tests that make Tessera fetch them.
 */
export async function startDocumentServer(
  options: DocumentServerOptions = {},
): Promise<DocumentServer> {
  const routes = new Map<string, DocumentRoute | (() => DocumentRoute)>();
  const counts = new Map<string, number>();
  const timers = new Set<NodeJS.Timeout>();
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    counts.set(path, (counts.get(path) ?? 0) + 1);
    const found = routes.get(path);
    const route = typeof found === 'function' ? found() : found;
    if (!route) {
      res.writeHead(404).end();
      return;
    }
    const answer = () => {
      const body = typeof route.body === 'string' ? route.body : JSON.stringify(route.body ?? null);
      res.writeHead(route.status ?? 200, {
        'content-type': 'application/json',
        ...route.headers,
      });
      res.end(body);
    };
    if (!route.delayMs) return answer();
    const timer = setTimeout(() => {
      timers.delete(timer);
      answer();
    }, route.delayMs);
    timers.add(timer);
  };
  const server: Server = options.tls
    ? createHttpsServer(LOOPBACK_TLS, handle)
    : createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const scheme = options.tls ? 'https' : 'http';
  const url = `${scheme}://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    serve(path, route) {
      routes.set(path, route);
      return `${url}${path}`;
    },
    hits: (path) => counts.get(path) ?? 0,
    async close() {
      for (const timer of timers) clearTimeout(timer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A valid public client's document for `clientId`, with `extra` fields on top. */
export function clientDocument(
  clientId: string,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    client_id: clientId,
    client_name: 'Example Agent',
    redirect_uris: ['https://app.example.com/callback'],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'none',
    ...extra,
  };
}
