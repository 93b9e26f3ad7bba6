/**
 * The kit for plain Node (node:http), Connect and Express: `(req, res, next)` middleware.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { bearerToken, hasQueryToken, refusal } from './answers.js';
import { TokenError } from './errors.js';
import { metadataPath, protectedResourceMetadata } from './metadata.js';
import type { BearerAuthOptions, ResourceOptions, TokenInfo } from './types.js';
import { createTokenVerifier } from './verifier.js';

/** A request as the middleware sees it: Node's, with Express's `originalUrl` when mounted. */
export type AuthRequest = IncomingMessage & { auth?: TokenInfo; originalUrl?: string };
/** Connect's `next`: called with nothing to go on, with an error to hand it to the error handler. */
export type Next = (error?: unknown) => void;

function send(res: ServerResponse, status: number, headers: Record<string, string>, body: unknown) {
  res.writeHead(status, headers);
  res.end(JSON.stringify(body));
}

/**
 * Middleware that requires a valid access token for this resource: on success sets `req.auth`
 * (the MCP SDK's `AuthInfo` shape) and calls `next()`; otherwise answers 401 (no or bad token),
 * 403 (insufficient_scope) or 400 (malformed request) with `WWW-Authenticate: Bearer …` naming
 * the resource's metadata (RFC 6750 §3, RFC 9728 §5.1). When Tessera cannot be reached, calls
 * `next(error)`.
 *
 * @example Express with the MCP SDK
 * ```ts
 * import express from 'express';
 * import { bearerAuth, metadataHandler } from 'tessera/resource';
 *
 * const options = { issuer: 'https://id.example.com', resource: 'https://mcp.example.com/mcp' };
 * const app = express();
 * app.use(metadataHandler(options));
 * app.post('/mcp', bearerAuth({ ...options, requiredScopes: ['mcp:tools'] }), (req, res) =>
 *   transport.handleRequest(req, res, req.body), // tools see req.auth as extra.authInfo
 * );
 * ```
 *
 * @example node:http
 * ```ts
 * const auth = bearerAuth(options);
 * createServer((req, res) =>
 *   auth(req, res, (error) => {
 *     if (error) return void res.writeHead(503).end();
 *     res.end(`hello ${req.auth?.extra.sub}`);
 *   }),
 * ).listen(8080);
 * ```
 */
export function bearerAuth(
  options: BearerAuthOptions,
): (req: AuthRequest, res: ServerResponse, next: Next) => void {
  const verifier = options.verifier ?? createTokenVerifier(options);
  const required = options.requiredScopes ?? [];
  return (req, res, next) => {
    void (async () => {
      let info: TokenInfo;
      try {
        const token = bearerToken(req.headers.authorization, hasQueryToken(req.url));
        info = await verifier.verify(token, required);
      } catch (error) {
        if (!(error instanceof TokenError)) return next(error);
        const answer = refusal(error, options.resource);
        return send(res, answer.status, answer.headers, answer.body);
      }
      req.auth = info;
      next();
    })();
  };
}

/**
 * Middleware that serves the protected resource metadata (RFC 9728) at
 * {@link metadataPath}(resource) to GET and HEAD, and passes every other request to `next`
 * (or answers 404 when there is no `next`: a handler of its own under node:http).
 *
 * @example
 * ```ts
 * app.use(metadataHandler({ issuer, resource: 'https://mcp.example.com/mcp' }));
 * // GET /.well-known/oauth-protected-resource/mcp → { resource, authorization_servers, … }
 * ```
 */
export function metadataHandler(
  options: ResourceOptions,
): (req: AuthRequest, res: ServerResponse, next?: Next) => void {
  const path = metadataPath(options.resource);
  // Compared without the query and a trailing slash, on both sides.
  const bare = (url: string) => url.split('?')[0]!.replace(/(.)\/$/, '$1');
  const document = JSON.stringify(protectedResourceMetadata(options));
  return (req, res, next) => {
    // Express strips a mount path from req.url; originalUrl is what the client asked for.
    const asked = bare(req.originalUrl ?? req.url ?? '/');
    if (asked !== bare(path) || (req.method !== 'GET' && req.method !== 'HEAD')) {
      if (next) return next();
      return send(
        res,
        404,
        { 'content-type': 'application/json; charset=utf-8' },
        {
          error: 'not_found',
          error_description: `no such document; the resource metadata is at ${path}`,
        },
      );
    }
    res.writeHead(200, {
      'content-type': 'application/json; charset=utf-8',
      // Browser-based clients (an MCP inspector) read it from another origin.
      'access-control-allow-origin': '*',
      'cache-control': 'public, max-age=3600',
    });
    res.end(req.method === 'HEAD' ? undefined : document);
  };
}
