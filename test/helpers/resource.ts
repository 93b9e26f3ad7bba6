import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import {
  type AuthRequest,
  bearerAuth,
  metadataHandler,
  type ResourceOptions,
  tesseraResource,
} from '../../src/resource/index.js';

/** The three ways the kit is used: the Fastify plugin, node:http, Express (from the MCP SDK). */
export const FLAVORS = ['fastify', 'node', 'express'] as const;
export type Flavor = (typeof FLAVORS)[number];

/** The routes of the test API and the scopes each needs. */
export const ROUTES = { '/open': [], '/read': ['notes:read'], '/write': ['notes:write'] } as const;

export interface TestApi {
  url: string;
  close(): Promise<void>;
}

/** What a protected route answers: the token information the kit set on the request. */
function echo(auth: unknown): string {
  return JSON.stringify({ auth });
}

async function listen(server: Server): Promise<TestApi> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function fastifyApi(options: ResourceOptions): Promise<TestApi> {
  const app = Fastify();
  await app.register(tesseraResource, options);
  for (const [path, scopes] of Object.entries(ROUTES)) {
    app.get(path, { preHandler: app.requireToken([...scopes]) }, async (request, reply) =>
      reply.type('application/json').send(echo(request.auth)),
    );
  }
  await app.listen({ port: 0, host: '127.0.0.1' });
  return {
    url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`,
    close: () => app.close(),
  };
}

/** node:http with nothing but the kit: the middleware called by hand, as the docs show. */
function nodeApi(options: ResourceOptions): Promise<TestApi> {
  const metadata = metadataHandler(options);
  const guards = Object.fromEntries(
    Object.entries(ROUTES).map(([path, scopes]) => [
      path,
      bearerAuth({ ...options, requiredScopes: [...scopes] }),
    ]),
  );
  const server = createServer((req, res) => {
    const guard = guards[(req.url ?? '/').split('?')[0]!];
    if (!guard) return metadata(req, res);
    guard(req, res, (error) => {
      if (error) return void res.writeHead(503).end(String(error));
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(echo((req as AuthRequest).auth));
    });
  });
  return listen(server);
}

interface ExpressApp {
  (req: unknown, res: unknown): void;
  use(...handlers: unknown[]): void;
  get(path: string, ...handlers: unknown[]): void;
}

/** Express 5, as the MCP SDK's examples use it; no types for it are installed, hence the cast. */
async function expressApi(options: ResourceOptions): Promise<TestApi> {
  const name = 'express';
  const express = ((await import(name)) as { default: () => ExpressApp }).default;
  const app = express();
  app.use(metadataHandler(options));
  for (const [path, scopes] of Object.entries(ROUTES)) {
    app.get(
      path,
      bearerAuth({ ...options, requiredScopes: [...scopes] }),
      (req: { auth?: unknown }, res: { type(t: string): { send(b: string): void } }) =>
        res.type('application/json').send(echo(req.auth)),
    );
  }
  return listen(createServer(app));
}

/** A listening API protected by the kit, the `flavor` way. */
export function startApi(flavor: Flavor, options: ResourceOptions): Promise<TestApi> {
  if (flavor === 'fastify') return fastifyApi(options);
  if (flavor === 'node') return nodeApi(options);
  return expressApi(options);
}

/** A GET to the API, with the headers given; the JSON body when there is one. */
export async function callApi(
  api: TestApi,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; body: Record<string, unknown>; text: string }> {
  const res = await fetch(new URL(path, api.url), { headers });
  const text = await res.text();
  let body: Record<string, unknown> = {};
  try {
    body = text ? JSON.parse(text) : {};
  } catch {
    body = {};
  }
  return { status: res.status, headers: res.headers, body, text };
}

/** A fetch that counts the requests whose URL contains `part` (the introspection endpoint). */
export function countingFetch(part: string): { fetch: typeof fetch; count(): number } {
  let n = 0;
  return {
    fetch: (input, init) => {
      if (String(input instanceof Request ? input.url : input).includes(part)) n += 1;
      return fetch(input, init);
    },
    count: () => n,
  };
}
