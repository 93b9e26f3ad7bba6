import { auth, UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { InvalidTargetError } from '@modelcontextprotocol/sdk/server/auth/errors.js';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningMcpServer, startMcpServer } from '../../examples/mcp-server/server.js';
import { type RunningServer, startServer } from '../helpers/app.js';
import { Browser } from '../helpers/browser.js';
import { TEST_ADMIN_KEY } from '../helpers/config.js';
import { type DocumentServer, startDocumentServer } from '../helpers/document-server.js';
import { clientMetadataDocument, MemoryOAuthProvider } from '../helpers/mcp.js';
import { makeUser } from '../helpers/oauth.js';
import { signInAndConsent } from '../helpers/sign-in-page.js';

/**
 * Issue 13's acceptance: the official MCP SDK's client, knowing nothing but an MCP server's URL,
 * gets the 401, discovers the protected resource and Tessera's metadata, registers (by a Client
 * ID Metadata Document, or by dynamic registration), signs in and consents through Tessera's real
 * pages, calls a tool, refreshes, and is refused by a second MCP server with the first one's token.
 * The MCP servers are examples/mcp-server, protected by the resource kit.
 */
describe.each([
  { registration: 'a Client ID Metadata Document', byDocument: true },
  { registration: 'dynamic client registration', byDocument: false },
])('the MCP SDK client registering by $registration', ({ byDocument }) => {
  let tessera: RunningServer;
  let first: RunningMcpServer;
  let second: RunningMcpServer;
  /** Where the client publishes its metadata document: https on 127.0.0.1, as the SDK wants. */
  let documents: DocumentServer | undefined;
  let person: { login: string; password: string; id: string };
  /** Where the client says Tessera sends the browser back: a loopback port nothing listens on. */
  const redirectUrl = 'http://127.0.0.1:1/callback';

  beforeAll(async () => {
    documents = byDocument ? await startDocumentServer({ tls: true }) : undefined;
    tessera = await startServer({
      env: {
        TESSERA_REGISTRATION: 'open',
        TESSERA_CIMD_ALLOW_LOOPBACK: 'true',
      },
    });
    first = await startMcpServer({ issuer: tessera.url });
    second = await startMcpServer({ issuer: tessera.url });
    await registerApi(first.url, 'Notes (first)', ['notes:read', 'notes:write']);
    // Each scope belongs to one API: the second server's API defines none of the first's. What
    // is tested with it is the audience: the first server's token is not for it.
    await registerApi(second.url, 'Notes (second)', ['second:read']);
    const { user, password } = await makeUser(tessera.app.tessera);
    person = { login: user.username, password, id: user.id };
  });
  afterAll(async () => {
    await first?.close();
    await second?.close();
    await documents?.close();
    await tessera?.close();
  });

  /** Registers an MCP server in Tessera as an API, as an operator does with the admin API. */
  async function registerApi(identifier: string, name: string, scopes: string[]) {
    const res = await tessera.app.inject({
      method: 'POST',
      url: '/admin/api/apis',
      headers: { 'x-admin-key': TEST_ADMIN_KEY },
      payload: {
        identifier,
        name,
        scopes,
        open_to_self_registered: true,
      },
    });
    expect(res.statusCode, res.body).toBe(201);
  }

  function newProvider(): MemoryOAuthProvider {
    if (!documents) return new MemoryOAuthProvider(redirectUrl);
    const provider = new MemoryOAuthProvider(redirectUrl, `${documents.url}/agent.json`);
    documents.serve('/agent.json', { body: clientMetadataDocument(provider) });
    return provider;
  }

  /** A connected MCP client: the first connect meets the 401 and sends the person to Tessera. */
  async function connect(server: RunningMcpServer, provider: MemoryOAuthProvider) {
    const url = new URL(server.url);
    const refused = new Client({ name: 'test-agent', version: '1.0.0' });
    await expect(
      refused.connect(new StreamableHTTPClientTransport(url, { authProvider: provider })),
    ).rejects.toBeInstanceOf(UnauthorizedError);
    const authorizationUrl = provider.authorizationUrl!;
    const { consent, code } = await approve(provider);
    const transport = new StreamableHTTPClientTransport(url, { authProvider: provider });
    await transport.finishAuth(code);
    const client = new Client({ name: 'test-agent', version: '1.0.0' });
    await client.connect(transport);
    return { client, authorizationUrl, consent };
  }

  /**
   * The person at Tessera's pages, for the authorization URL the SDK handed the provider: signs
   * in, allows, and returns the consent page (when shown) and the code from the redirect.
   */
  async function approve(provider: MemoryOAuthProvider) {
    const authorizationUrl = provider.authorizationUrl;
    expect(authorizationUrl?.origin).toBe(tessera.url);
    const { consent, callback } = await signInAndConsent(
      new Browser(tessera.url),
      authorizationUrl!,
      person.login,
      person.password,
    );
    expect(`${callback.origin}${callback.pathname}`).toBe(redirectUrl);
    const code = callback.searchParams.get('code');
    expect(code, callback.toString()).toBeTruthy();
    return { consent, code: code! };
  }

  async function whoami(client: Client) {
    const result = await client.callTool({ name: 'whoami', arguments: {} });
    expect(result.isError ?? false, JSON.stringify(result)).toBe(false);
    const [content] = result.content as { type: string; text: string }[];
    return JSON.parse(content!.text) as {
      subject: string;
      client_id: string;
      scopes: string[];
      audience: unknown;
    };
  }

  it('connects from the server URL alone, calls a tool, refreshes, and is refused by another server', async () => {
    const provider = newProvider();
    const { client, authorizationUrl, consent } = await connect(first, provider);

    // What the SDK found on its own and sent: PKCE, the resource indicator, the client it became.
    expect(authorizationUrl.searchParams.get('resource')).toBe(first.url);
    expect(authorizationUrl.searchParams.get('code_challenge_method')).toBe('S256');
    const clientId = provider.information!.client_id;
    // The consent page named the MCP server the client asked for, by name and URL.
    expect(consent?.text).toContain('Notes (first)');
    expect(consent?.text).toContain(first.url);
    if (byDocument) {
      expect(clientId).toBe(provider.clientMetadataUrl);
      expect(documents!.hits('/agent.json')).toBeGreaterThan(0);
      // A client nobody vetted is shown by the host that publishes it.
      expect(consent?.text).toContain(new URL(documents!.url).host);
    } else {
      expect(clientId).not.toMatch(/^https?:/);
    }

    // The tool sees the person, the client and a token meant for this server alone.
    const me = await whoami(client);
    expect(me).toMatchObject({ subject: person.id, client_id: clientId, audience: first.url });
    expect(me.scopes).toEqual(expect.arrayContaining(['notes:read', 'notes:write']));
    const issued = provider.saved!;
    expect(decodeJwt(issued.access_token).aud).toBe(first.url);

    // A refresh, by the SDK as it refreshes when a token has expired: new tokens, same audience.
    expect(await auth(provider, { serverUrl: first.url })).toBe('AUTHORIZED');
    const refreshed = provider.saved!;
    expect(refreshed.access_token).not.toBe(issued.access_token);
    expect(refreshed.refresh_token).not.toBe(issued.refresh_token);
    expect(decodeJwt(refreshed.access_token).aud).toBe(first.url);
    expect(await whoami(client)).toMatchObject({ subject: person.id, audience: first.url });
    // And by itself, when the server refuses the access token it holds (as once it has expired):
    // the 401 makes the SDK refresh and send the call again.
    provider.saved = { ...refreshed, access_token: 'expired' };
    expect(await whoami(client)).toMatchObject({ subject: person.id, audience: first.url });
    expect(provider.saved.refresh_token).not.toBe(refreshed.refresh_token);
    await client.close();

    // The second server refuses the first one's token, and says where to learn how to get one.
    const res = await fetch(second.url, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${refreshed.access_token}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    expect(res.status).toBe(401);
    const challenge = res.headers.get('www-authenticate') ?? '';
    expect(challenge).toMatch(/^Bearer /);
    expect(challenge).toContain('error="invalid_token"');
    expect(challenge).toContain(
      `resource_metadata="${new URL(second.url).origin}/.well-known/oauth-protected-resource/mcp"`,
    );

    // The SDK's client, sent there with the first server's tokens, meets the same 401 and tries
    // to refresh them for the second server (resource = its URL): Tessera refuses, as a refresh
    // may narrow to a granted resource but never reach another (RFC 8707 invalid_target).
    const stranger = new Client({ name: 'test-agent', version: '1.0.0' });
    const refusal = await stranger
      .connect(new StreamableHTTPClientTransport(new URL(second.url), { authProvider: provider }))
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    expect(refusal).toBeInstanceOf(InvalidTargetError);
    expect((refusal as Error).message).toContain(second.url);
    expect(decodeJwt(provider.saved!.access_token).aud).toBe(first.url);
  });

  it('refuses a tool whose scope the token lacks, with 403 insufficient_scope naming it', async () => {
    // A token for notes:read alone, asked for as a client that wants less does.
    const provider = newProvider();
    expect(await auth(provider, { serverUrl: first.url, scope: 'notes:read' })).toBe('REDIRECT');
    const { code } = await approve(provider);
    expect(await auth(provider, { serverUrl: first.url, authorizationCode: code })).toBe(
      'AUTHORIZED',
    );
    const narrow = provider.saved!;
    expect(narrow.scope).toBe('notes:read');

    const call = (name: string, args: Record<string, unknown>) =>
      fetch(first.url, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${narrow.access_token}`,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'mcp-protocol-version': '2025-06-18',
        },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'tools/call',
          params: { name, arguments: args },
        }),
      });
    const listed = await call('list_notes', {});
    expect(listed.status).toBe(200);
    const refused = await call('add_note', { text: 'buy milk' });
    expect(refused.status).toBe(403);
    const challenge = refused.headers.get('www-authenticate') ?? '';
    expect(challenge).toContain('error="insufficient_scope"');
    expect(challenge).toContain('scope="notes:write"');
  });

  it.runIf(!byDocument)(
    'answers requests it cannot serve with HTTP errors, never a 500',
    async () => {
      const provider = newProvider();
      expect(await auth(provider, { serverUrl: first.url })).toBe('REDIRECT');
      const { code } = await approve(provider);
      await auth(provider, { serverUrl: first.url, authorizationCode: code });
      const bearer = { authorization: `Bearer ${provider.saved!.access_token}` };
      const post = (body: string, headers: Record<string, string> = bearer) =>
        fetch(first.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            accept: 'application/json, text/event-stream',
            ...headers,
          },
          body,
        });

      // Without a token, or with a forged one: 401 before anything is read.
      expect((await post('{}', {})).status).toBe(401);
      const forged = await post('{}', { authorization: 'Bearer not-a-token' });
      expect(forged.status).toBe(401);
      expect(forged.headers.get('www-authenticate')).toContain('resource_metadata=');
      expect((await fetch(first.url)).status).toBe(401);
      // With one: a stateless server has no stream (GET) and no session (DELETE) to offer.
      const get = await fetch(first.url, { headers: bearer });
      expect(get.status).toBe(405);
      expect(get.headers.get('allow')).toBe('POST');
      expect((await fetch(first.url, { method: 'DELETE', headers: bearer })).status).toBe(405);
      // Bodies that are not JSON, or too large, are refused as JSON-RPC errors.
      const broken = await post('{"jsonrpc":');
      expect(broken.status).toBe(400);
      expect(await broken.json()).toMatchObject({ error: { code: -32700 } });
      const huge = await post(JSON.stringify({ text: 'x'.repeat(2 << 20) }));
      expect(huge.status).toBe(413);
      // An unknown tool, or a tool call with bad arguments: a JSON-RPC answer, not an HTTP error.
      const unknown = await post(
        JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'tools/call',
          params: { name: 'rm_rf', arguments: {} },
        }),
      );
      expect(unknown.status).toBe(200);
      expect(JSON.stringify(await unknown.json())).toMatch(/rm_rf/);
      // Other paths are not the MCP endpoint.
      expect((await fetch(new URL('/other', first.url), { headers: bearer })).status).toBe(404);
    },
  );
});
