import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DOCUMENT_LIMITS, MetadataDocuments } from '../../src/domain/metadata-documents.js';
import { FrozenClock } from '../../src/lib/clock.js';
import { type RunningServer, startServer } from '../helpers/app.js';
import { Browser } from '../helpers/browser.js';
import {
  clientDocument,
  type DocumentServer,
  startDocumentServer,
} from '../helpers/document-server.js';
import { authorizePath, makeUser, pkce, postForm, signInBrowser } from '../helpers/oauth.js';

/**
 * Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document) over real HTTP:
 * the documents are served by a local server, Tessera listens, and each refusal of issue 13
 * is shown as the person (an error page, never a redirect) or the client (invalid_client) meets it.
 */
describe('Client ID Metadata Documents', () => {
  let docs: DocumentServer;
  let server: RunningServer;
  const clock = new FrozenClock();
  let paths = 0;

  beforeAll(async () => {
    docs = await startDocumentServer();
    server = await startServer({ clock, env: { TESSERA_CIMD_ALLOW_LOOPBACK: 'true' } });
  });
  afterAll(async () => {
    await server.close();
    await docs.close();
  });

  /** A fresh path on the document server serving `extra` on top of a valid document. */
  function publish(extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) {
    const path = `/clients/${++paths}.json`;
    const url = `${docs.url}${path}`;
    docs.serve(path, { body: clientDocument(url, extra), headers });
    return { url, path };
  }

  function authorizeUrl(clientId: string, extra: Record<string, string> = {}) {
    return authorizePath({
      response_type: 'code',
      client_id: clientId,
      redirect_uri: 'https://app.example.com/callback',
      scope: 'openid',
      state: 'st',
      code_challenge: pkce().challenge,
      code_challenge_method: 'S256',
      ...extra,
    });
  }

  async function authorize(clientId: string, extra: Record<string, string> = {}, on = server.url) {
    const res = await fetch(`${on}${authorizeUrl(clientId, extra)}`, { redirect: 'manual' });
    return { status: res.status, location: res.headers.get('location'), text: await res.text() };
  }

  /** The error page an /authorize request must end on: a 400 page, never a redirect. */
  async function expectRefused(clientId: string, words: string, extra = {}) {
    const page = await authorize(clientId, extra);
    expect(page.location).toBeNull();
    expect(page.status).toBe(400);
    expect(page.text).toContain(words);
  }

  it('advertises client_id_metadata_document_supported in discovery', async () => {
    const meta = (await (
      await fetch(`${server.url}/.well-known/openid-configuration`)
    ).json()) as Record<string, unknown>;
    expect(meta.client_id_metadata_document_supported).toBe(true);
  });

  it('accepts a valid document and keeps it as a metadata_document client', async () => {
    const { url, path } = publish({ client_name: 'Agent One' });
    const page = await authorize(url);
    expect(page.status).toBe(303);
    expect(page.location).toContain('/login');
    expect(docs.hits(path)).toBe(1);
    const stored = await server.app.tessera.store.clients.findById(url);
    expect(stored).toMatchObject({
      id: url,
      name: 'Agent One',
      registration: 'metadata_document',
      type: 'public',
      tokenEndpointAuthMethod: 'none',
      requirePkce: true,
      redirectUris: ['https://app.example.com/callback'],
    });
  });

  it('refuses a document whose client_id is not its URL', async () => {
    const { path } = publish();
    const url = `${docs.url}${path}`;
    docs.serve(path, { body: clientDocument(`${url}?other`) });
    await expectRefused(url, 'client_id is not the URL it was fetched from');
  });

  it('refuses a redirect_uri the document does not list', async () => {
    const { url } = publish();
    await expectRefused(url, 'redirect_uri does not match', {
      redirect_uri: 'https://evil.example/callback',
    });
  });

  it('refuses private addresses given by a literal IP, without connecting', async () => {
    await expectRefused('https://10.0.0.7/client.json', 'private or link-local address');
    await expectRefused('https://192.168.1.20/client.json', 'private or link-local address');
    await expectRefused('https://[fe80::1]/client.json', 'private or link-local address');
  });

  it('refuses an oversized document (over 64 KiB)', async () => {
    const { url } = publish({ padding: 'x'.repeat(70 * 1024) });
    await expectRefused(url, 'larger than 64 KiB');
  });

  it('refuses a slow document at the deadline, 5 s by default', async () => {
    const ctx = server.app.tessera;
    const configured = ctx.clients.documents!;
    expect(configured.limits.timeoutMs).toBe(5_000);
    expect(configured.limits.maxBytes).toBe(64 * 1024);
    expect(DOCUMENT_LIMITS.timeoutMs).toBe(5_000);
    // The deadline shortened for the test: the document arrives after 1.5 s, the deadline is 0.3 s.
    ctx.clients.useDocuments(new MetadataDocuments(ctx, { timeoutMs: 300 }));
    try {
      const path = '/slow.json';
      const url = docs.serve(path, () => ({
        body: clientDocument(`${docs.url}${path}`),
        delayMs: 1_500,
      }));
      const started = Date.now();
      await expectRefused(url, 'did not arrive within 0.3 s');
      expect(Date.now() - started).toBeLessThan(1_400);
    } finally {
      ctx.clients.useDocuments(configured);
    }
  });

  it('fetches at most maxConcurrentFetches different documents at once (32 by default)', async () => {
    const ctx = server.app.tessera;
    const configured = ctx.clients.documents!;
    expect(configured.limits.maxConcurrentFetches).toBe(32);
    ctx.clients.useDocuments(new MetadataDocuments(ctx, { maxConcurrentFetches: 2 }));
    try {
      const slow = [1, 2, 3].map((n) => {
        const path = `/crowd-${n}.json`;
        return docs.serve(path, () => ({
          body: clientDocument(`${docs.url}${path}`),
          delayMs: 300,
        }));
      });
      const pages = await Promise.all(slow.map((url) => authorize(url)));
      expect(pages.map((p) => p.status).sort()).toEqual([303, 303, 400]);
      expect(pages.find((p) => p.status === 400)?.text).toContain('being fetched at once');
      // Once the crowd has passed, the third one is fetched as any other.
      expect((await authorize(slow[2]!)).status).toBe(303);
    } finally {
      ctx.clients.useDocuments(configured);
    }
  });

  it('does not follow a redirect to another host', async () => {
    const path = '/moved.json';
    const url = docs.serve(path, {
      status: 302,
      headers: { location: `http://localhost:${new URL(docs.url).port}/elsewhere.json` },
      body: '',
    });
    await expectRefused(url, 'redirects are not followed');
  });

  it('refuses malformed JSON and a document that is not an object', async () => {
    const bad = docs.serve('/malformed.json', { body: '{"client_id": ' });
    await expectRefused(bad, 'not valid JSON');
    const list = docs.serve('/list.json', { body: '[]' });
    await expectRefused(list, 'not a JSON object');
  });

  it('refuses a document holding a client secret or a shared-secret method', async () => {
    const { url: withSecret } = publish({ client_secret: 's3cret' });
    await expectRefused(withSecret, 'must not contain client_secret');
    const { url: basic } = publish({ token_endpoint_auth_method: 'client_secret_basic' });
    await expectRefused(basic, 'cannot hold a shared secret');
  });

  it('refuses grant types beyond the code and refresh grants, and documents without redirect_uris', async () => {
    const { url: cc } = publish({ grant_types: ['client_credentials'] });
    await expectRefused(cc, 'only authorization_code and refresh_token');
    const { url: none } = publish({ redirect_uris: [] });
    await expectRefused(none, 'redirect_uris is required');
  });

  it('refuses URL client ids without a path, with a fragment or with dot segments', async () => {
    await expectRefused('https://app.example.com/', 'must have a path');
    await expectRefused(`${docs.url}/a/../b.json`, 'path segments');
  });

  it('answers invalid_client at /token, naming the problem', async () => {
    const { path } = publish();
    const url = `${docs.url}${path}`;
    docs.serve(path, { body: clientDocument('https://someone.else/client.json') });
    const res = await postForm(server.url, '/token', {
      grant_type: 'authorization_code',
      client_id: url,
      code: 'nope',
      redirect_uri: 'https://app.example.com/callback',
      code_verifier: pkce().verifier,
    });
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('invalid_client');
    expect(res.body.error_description).toContain('client_id is not the URL it was fetched from');
  });

  it('takes the document client at /par too, and refuses ids longer than 1,024 characters', async () => {
    const { url } = publish();
    const { challenge } = pkce();
    const pushed = await postForm(server.url, '/par', {
      response_type: 'code',
      client_id: url,
      redirect_uri: 'https://app.example.com/callback',
      scope: 'openid',
      code_challenge: challenge,
      code_challenge_method: 'S256',
    });
    expect(pushed.status, pushed.text).toBe(201);
    expect(pushed.body.request_uri).toMatch(/^urn:ietf:params:oauth:request_uri:/);
    await expectRefused(`${docs.url}/${'a'.repeat(1_100)}.json`, 'unknown client_id');
  });

  it('honours max-age by the app clock, then fetches again and applies the change', async () => {
    const { url, path } = publish({ client_name: 'Before' }, { 'cache-control': 'max-age=120' });
    await authorize(url);
    await authorize(url);
    expect(docs.hits(path)).toBe(1);
    clock.advance(119);
    await authorize(url);
    expect(docs.hits(path)).toBe(1);
    docs.serve(path, {
      body: clientDocument(url, { client_name: 'After' }),
      headers: { 'cache-control': 'max-age=120' },
    });
    clock.advance(2);
    await authorize(url);
    expect(docs.hits(path)).toBe(2);
    expect((await server.app.tessera.store.clients.findById(url))?.name).toBe('After');
  });

  it('refetches a stale document where the client starts something, never where it only uses its tokens', async () => {
    const ctx = server.app.tessera;
    const { url, path } = publish({}, { 'cache-control': 'max-age=60' });
    await authorize(url);
    clock.advance(61);
    // userinfo, introspection, back-channel logout and the abuse counters read it this way.
    expect((await ctx.clients.get(url))?.id).toBe(url);
    expect(docs.hits(path)).toBe(1);
    // /authorize, /par and client authentication at /token read it this way.
    expect((await ctx.clients.resolve(url))?.id).toBe(url);
    expect(docs.hits(path)).toBe(2);
  });

  it('fetches a no-store document at every use', async () => {
    const { url, path } = publish({}, { 'cache-control': 'no-store' });
    await authorize(url);
    await authorize(url);
    expect(docs.hits(path)).toBe(2);
  });

  it('merges ten concurrent /authorize requests for one document into one fetch', async () => {
    const path = '/concurrent.json';
    const url = docs.serve(path, () => ({
      body: clientDocument(`${docs.url}${path}`),
      delayMs: 200,
    }));
    const pages = await Promise.all(Array.from({ length: 10 }, () => authorize(url)));
    expect(pages.map((p) => p.status)).toEqual(Array(10).fill(303));
    expect(docs.hits(path)).toBe(1);
  });

  it('keeps answering other requests while a document is slow', async () => {
    const path = '/very-slow.json';
    const url = docs.serve(path, () => ({
      body: clientDocument(`${docs.url}${path}`),
      delayMs: 1_000,
    }));
    const slow = authorize(url);
    const started = Date.now();
    const health = await fetch(`${server.url}/.well-known/openid-configuration`);
    expect(health.status).toBe(200);
    expect(Date.now() - started).toBeLessThan(500);
    expect((await slow).status).toBe(303);
  });

  it('shows the host prominently on the consent page, and warns when it redirects only to this computer', async () => {
    const ctx = server.app.tessera;
    const { user } = await makeUser(ctx);
    const browser = new Browser(server.url);
    await signInBrowser(ctx, browser, user);
    const host = new URL(docs.url).host;

    const { url: local } = publish({
      client_name: 'Totally Official App',
      redirect_uris: ['http://127.0.0.1:33418/callback'],
    });
    const page = await browser.get(
      authorizeUrl(local, { redirect_uri: 'http://127.0.0.1:33418/callback' }),
    );
    expect(page.status).toBe(200);
    expect(page.text).toContain(`<h1>${host} wants to access your account</h1>`);
    expect(page.text).toContain('It calls itself <strong>Totally Official App</strong>');
    expect(page.text).toContain('a name it chose and Tessera did not check');
    expect(page.text).toContain('Only continue if you started this app on this computer');

    const { url: web } = publish({ client_name: 'Web App' });
    const webPage = await browser.get(authorizeUrl(web));
    expect(webPage.text).toContain(`<h1>${host} wants to access your account</h1>`);
    expect(webPage.text).not.toContain('Only continue if you started this app');
  });
});
