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
