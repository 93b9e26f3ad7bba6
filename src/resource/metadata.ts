/**
 * RFC 9728: where a protected resource publishes its metadata, and what the document says.
 */
import type { ResourceOptions } from './types.js';

const WELL_KNOWN = '/.well-known/oauth-protected-resource';

/**
 * The path of the resource's metadata document: `/.well-known/oauth-protected-resource` followed
 * by the resource identifier's path and query, with a lone terminating `/` dropped (RFC 9728 §3.1).
 *
 * @example
 * ```ts
 * metadataPath('https://mcp.example.com/mcp'); // '/.well-known/oauth-protected-resource/mcp'
 * metadataPath('https://api.example.com/');    // '/.well-known/oauth-protected-resource'
 * ```
 */
export function metadataPath(resource: string): string {
  const url = resourceUrl(resource);
  const rest = url.pathname === '/' ? '' : url.pathname;
  return `${WELL_KNOWN}${rest}${url.search}`;
}

/**
 * The absolute URL of the resource's metadata document: what `resource_metadata` names in a
 * `WWW-Authenticate` challenge (RFC 9728 §5.1).
 *
 * @example
 * ```ts
 * metadataUrl('https://mcp.example.com/mcp');
 * // 'https://mcp.example.com/.well-known/oauth-protected-resource/mcp'
 * ```
 */
export function metadataUrl(resource: string): string {
  return `${resourceUrl(resource).origin}${metadataPath(resource)}`;
}

/**
 * The protected resource metadata document (RFC 9728 §2) for `options`: served as JSON at
 * {@link metadataPath} by {@link metadataHandler} and the Fastify plugin.
 *
 * @example
 * ```ts
 * protectedResourceMetadata({ issuer: 'https://id.example.com', resource: 'https://api.example.com' });
 * // { resource: 'https://api.example.com', authorization_servers: ['https://id.example.com'],
 * //   bearer_methods_supported: ['header'] }
 * ```
 */
export function protectedResourceMetadata(options: ResourceOptions): Record<string, unknown> {
  return {
    resource: options.resource,
    authorization_servers: [options.issuer],
    ...(options.scopesSupported ? { scopes_supported: options.scopesSupported } : {}),
    // Tokens only in the Authorization header: never in a query string (RFC 9700 §2.5) or a form body.
    bearer_methods_supported: ['header'],
    ...(options.resourceName ? { resource_name: options.resourceName } : {}),
    ...(options.resourceDocumentation
      ? { resource_documentation: options.resourceDocumentation }
      : {}),
  };
}

/**
 * The resource identifier as a URL, refused at start-up when it cannot be one: RFC 8707 §2 wants
 * an absolute URI without a fragment, and RFC 9728 §3.1 builds the metadata URL from it.
 */
export function resourceUrl(resource: string): URL {
  let url: URL;
  try {
    url = new URL(resource);
  } catch {
    throw new TypeError(`tessera/resource: resource must be an absolute URL, got "${resource}"`);
  }
  if (url.hash || resource.includes('#')) {
    throw new TypeError(`tessera/resource: resource must not have a fragment, got "${resource}"`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new TypeError(`tessera/resource: resource must be an http(s) URL, got "${resource}"`);
  }
  return url;
}
