import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { REDIRECT_URI } from '../servers/fixtures.js';

/** A Client ID Metadata Document served on loopback, and how often it was asked for. */
export interface ServedDocument {
  /** The document's URL: the client_id it names. */
  clientId: string;
  fetches(): number;
  close(): Promise<void>;
}

/**
 * Serves h's metadata document from the load generator's process: a public PKCE client with the
 * benchmark's redirect URI, cacheable for a day, so that a server that honours caching fetches
 * it once in the whole run.
 */
export async function serveClientDocument(): Promise<ServedDocument> {
  let fetches = 0;
  let clientId = '';
  const server = createServer((_request, response) => {
    fetches += 1;
    response.writeHead(200, {
      'content-type': 'application/json',
      'cache-control': 'public, max-age=86400',
    });
    response.end(
      JSON.stringify({
        client_id: clientId,
        client_name: 'Benchmark agent',
        redirect_uris: [REDIRECT_URI],
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'none',
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  clientId = `http://127.0.0.1:${(server.address() as AddressInfo).port}/bench/client.json`;
  return {
    clientId,
    fetches: () => fetches,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
