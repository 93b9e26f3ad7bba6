import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, globalAgent } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js';
import type {
  OAuthClientInformationMixed,
  OAuthClientMetadata,
  OAuthTokens,
} from '@modelcontextprotocol/sdk/shared/auth.js';

/**
 * An MCP client's OAuth side as the SDK asks an application to provide it, kept in memory: what a
 * desktop agent stores on disk. `redirectToAuthorization` does not open a browser: it keeps the
 * URL for the test, which plays the person at Tessera's pages.
 */
export class MemoryOAuthProvider implements OAuthClientProvider {
  information: OAuthClientInformationMixed | undefined;
  saved: OAuthTokens | undefined;
  verifier = '';
  /** The last authorization URL the SDK wanted the person's browser to open. */
  authorizationUrl: URL | undefined;

  constructor(
    readonly redirectUrl: string,
    /** When set, the client identifies itself by this URL (a Client ID Metadata Document). */
    readonly clientMetadataUrl?: string,
  ) {}

  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: 'Test MCP agent',
      redirect_uris: [this.redirectUrl],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }

  clientInformation() {
    return this.information;
  }
  saveClientInformation(information: OAuthClientInformationMixed) {
    this.information = information;
  }
  tokens() {
    return this.saved;
  }
  saveTokens(tokens: OAuthTokens) {
    this.saved = tokens;
  }
  redirectToAuthorization(url: URL) {
    this.authorizationUrl = url;
  }
  saveCodeVerifier(verifier: string) {
    this.verifier = verifier;
  }
  codeVerifier() {
    return this.verifier;
  }
}

/** The document a client publishes at its client_id URL, as the metadata-document draft says. */
export function clientMetadataDocument(provider: MemoryOAuthProvider): Record<string, unknown> {
  return { client_id: provider.clientMetadataUrl, ...provider.clientMetadata };
}

export interface DocumentHost {
  /** https://127.0.0.1:port, with a certificate made for this run. */
  origin: string;
  /** The certificate, in PEM. */
  certificate: string;
  /**
   * Makes this process's https requests trust the certificate (and only it): Tessera, running in
   * the test's process, fetches documents with node:https on its global agent. Returns the undo.
   */
  trustInProcess(): () => void;
  /** Serves `body` as JSON at `path`. */
  serve(path: string, body: unknown): void;
  /** How many times each path was fetched. */
  hits: Map<string, number>;
  close(): Promise<void>;
}

/**
 * An HTTPS server on 127.0.0.1 for a client's metadata document: the MCP SDK accepts only an
 * https client_id URL, so the test's document host has a certificate of its own, self-signed for
 * 127.0.0.1 by openssl, which the test makes Tessera trust (trustInProcess).
 */
export async function documentHost(): Promise<DocumentHost> {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-cimd-'));
  try {
    execFileSync(
      'openssl',
      [
        ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'],
        ...['-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1'],
        ...['-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'],
      ],
      { stdio: 'ignore' },
    );
    const key = readFileSync(join(dir, 'key.pem'), 'utf8');
    const certificate = readFileSync(join(dir, 'cert.pem'), 'utf8');
    const documents = new Map<string, string>();
    const hits = new Map<string, number>();
    const server = createServer({ key, cert: certificate }, (req, res) => {
      const path = new URL(req.url ?? '/', 'https://x').pathname;
      hits.set(path, (hits.get(path) ?? 0) + 1);
      const body = documents.get(path);
      res.statusCode = body ? 200 : 404;
      res.setHeader('content-type', 'application/json');
      res.end(body ?? '{}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    return {
      origin: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
      certificate,
      trustInProcess() {
        const before = globalAgent.options.ca;
        globalAgent.options.ca = certificate;
        return () => {
          globalAgent.options.ca = before;
        };
      },
      serve: (path, body) => documents.set(path, JSON.stringify(body)),
      hits,
      close: () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
