/**
 * What the kit needs to know about Tessera, read once from its metadata: where the keys are and
 * where to introspect.
 */

export interface IssuerMetadata {
  jwks_uri: string;
  introspection_endpoint?: string;
}

/**
 * The metadata URLs to try for `issuer`, in order: RFC 8414 §3.1 (the well-known suffix inserted
 * before the issuer's path), then OpenID Connect Discovery (appended to it).
 */
function metadataUrls(issuer: string): string[] {
  const url = new URL(issuer);
  const path = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '');
  return [
    `${url.origin}/.well-known/oauth-authorization-server${path}`,
    `${url.origin}${path}/.well-known/openid-configuration`,
  ];
}

/**
 * Tessera's metadata, read once and kept: a failure is not kept, so the next request tries
 * again. The document must name the configured issuer (RFC 8414 §3.3): a resource that trusts
 * one issuer must not take another's keys.
 */
export function issuerMetadata(
  issuer: string,
  fetcher: typeof globalThis.fetch,
): () => Promise<IssuerMetadata> {
  let pending: Promise<IssuerMetadata> | undefined;
  const load = async (): Promise<IssuerMetadata> => {
    const failures: string[] = [];
    for (const url of metadataUrls(issuer)) {
      const response = await fetcher(url, {
        headers: { accept: 'application/json' },
        signal: AbortSignal.timeout(5000),
      });
      if (!response.ok) {
        failures.push(`${url}: HTTP ${response.status}`);
        continue;
      }
      const document = (await response.json()) as Record<string, unknown>;
      if (document.issuer !== issuer) {
        throw new Error(
          `tessera/resource: ${url} names the issuer ${JSON.stringify(document.issuer)}, not ${issuer}`,
        );
      }
      if (typeof document.jwks_uri !== 'string') {
        throw new Error(`tessera/resource: ${url} has no jwks_uri`);
      }
      return {
        jwks_uri: document.jwks_uri,
        ...(typeof document.introspection_endpoint === 'string'
          ? { introspection_endpoint: document.introspection_endpoint }
          : {}),
      };
    }
    throw new Error(
      `tessera/resource: no metadata for the issuer ${issuer} (${failures.join('; ')})`,
    );
  };
  return () => {
    pending ??= load().catch((error: unknown) => {
      pending = undefined;
      throw error;
    });
    return pending;
  };
}
