import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { hostSpellingProblem, parseHostList } from '../../src/domain/metadata-document.js';
import { testApp } from '../helpers/app.js';
import {
  clientDocument,
  type DocumentServer,
  startDocumentServer,
} from '../helpers/document-server.js';
import { authorizePath, pkce } from '../helpers/oauth.js';

/**
 * The settings of Client ID Metadata Documents (TESSERA_CIMD, its host lists, loopback and
 * production), each on an app of its own; the documents served over real HTTP.
 */
describe('Client ID Metadata Documents: settings', () => {
  let docs: DocumentServer;
  let paths = 0;
  const apps: FastifyInstance[] = [];
  beforeAll(async () => {
    docs = await startDocumentServer();
  });
  afterAll(async () => {
    for (const app of apps) await app.close();
    await docs.close();
  });

  function publish() {
    const path = `/settings/${++paths}.json`;
    const url = `${docs.url}${path}`;
    docs.serve(path, { body: clientDocument(url) });
    return { url, path };
  }

  function authorizeUrl(clientId: string) {
    return authorizePath({
      response_type: 'code',
      client_id: clientId,
      redirect_uri: 'https://app.example.com/callback',
      scope: 'openid',
      state: 'st',
      code_challenge: pkce().challenge,
      code_challenge_method: 'S256',
    });
  }
  async function appWith(env: Record<string, string>) {
    const app = await testApp({ env });
    apps.push(app);
    return app;
  }
  async function injectAuthorize(app: FastifyInstance, clientId: string) {
    const res = await app.inject({ method: 'GET', url: authorizeUrl(clientId) });
    return { status: res.statusCode, location: res.headers.location, text: res.body };
  }

  it('TESSERA_CIMD=off: a URL client id is an unknown client, and discovery says nothing', async () => {
    const app = await appWith({ TESSERA_CIMD: 'off', TESSERA_CIMD_ALLOW_LOOPBACK: 'true' });
    const { url, path } = publish();
    const page = await injectAuthorize(app, url);
    expect(page.status).toBe(400);
    expect(page.text).toContain('unknown client_id');
    expect(docs.hits(path)).toBe(0);
    const meta = (await app.inject('/.well-known/openid-configuration')).json();
    expect(meta.client_id_metadata_document_supported).toBeUndefined();
  });

  it('TESSERA_CIMD_ALLOW_LOOPBACK: https on a loopback address with a self-signed certificate, as the MCP SDK needs', async () => {
    const secure = await startDocumentServer({ tls: true });
    try {
      const url = secure.serve('/mcp/client.json', {
        body: clientDocument(`${secure.url}/mcp/client.json`),
      });
      expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\//);
      const allowed = await appWith({ TESSERA_CIMD_ALLOW_LOOPBACK: 'true' });
      expect((await injectAuthorize(allowed, url)).status).toBe(303);
      expect(secure.hits('/mcp/client.json')).toBe(1);
      // Without the setting, loopback is refused before any connection.
      const refused = await appWith({});
      const page = await injectAuthorize(refused, url);
      expect(page.text).toContain('private or link-local address');
      expect(secure.hits('/mcp/client.json')).toBe(1);
    } finally {
      await secure.close();
    }
  });

  it('refuses loopback unless TESSERA_CIMD_ALLOW_LOOPBACK, by address and by name', async () => {
    const app = await appWith({});
    const { path } = publish();
    const port = new URL(docs.url).port;
    const byAddress = await injectAuthorize(app, `https://127.0.0.1:${port}${path}`);
    expect(byAddress.status).toBe(400);
    expect(byAddress.text).toContain('private or link-local address');
    const byName = await injectAuthorize(app, `https://localhost:${port}${path}`);
    expect(byName.text).toContain('private or link-local address');
    const overHttp = await injectAuthorize(app, `${docs.url}${path}`);
    expect(overHttp.text).toContain('must be an https URL');
    expect(docs.hits(path)).toBe(0);
  });

  it('production: http is refused, and TESSERA_CIMD_ALLOW_LOOPBACK stops start-up', async () => {
    const app = await appWith({
      NODE_ENV: 'production',
      TESSERA_SMTP_URL: 'smtp://127.0.0.1:9',
      TESSERA_ISSUER: 'https://id.example.com',
    });
    const { url, path } = publish();
    const page = await injectAuthorize(app, url);
    expect(page.status).toBe(400);
    expect(page.text).toContain('must be an https URL');
    expect(docs.hits(path)).toBe(0);
    expect(() =>
      parseConfig({
        NODE_ENV: 'production',
        TESSERA_SECRET: 'x'.repeat(40),
        TESSERA_SMTP_URL: 'smtp://127.0.0.1:9',
        TESSERA_CIMD_ALLOW_LOOPBACK: 'true',
      }),
    ).toThrow(/TESSERA_CIMD_ALLOW_LOOPBACK/);
  });

  it('the deny-list refuses its hosts, and wins over the allow-list', async () => {
    const denied = await appWith({
      TESSERA_CIMD_ALLOW_LOOPBACK: 'true',
      TESSERA_CIMD_ALLOW_HOSTS: '127.0.0.1',
      TESSERA_CIMD_DENY_HOSTS: 'evil.example, 127.0.0.1',
    });
    const { url, path } = publish();
    const page = await injectAuthorize(denied, url);
    expect(page.status).toBe(400);
    expect(page.text).toContain('from 127.0.0.1 are refused');
    expect(docs.hits(path)).toBe(0);
  });

  it('a host denied after its client was accepted: no new sign-ins, and its tokens are no longer honoured', async () => {
    const { url } = publish();
    const before = await appWith({ TESSERA_CIMD_ALLOW_LOOPBACK: 'true' });
    expect((await injectAuthorize(before, url)).status).toBe(303);
    // The same store, restarted with the host denied.
    const after = await testApp({
      store: before.tessera.store,
      env: { TESSERA_CIMD_ALLOW_LOOPBACK: 'true', TESSERA_CIMD_DENY_HOSTS: '127.0.0.1' },
    });
    apps.unshift(after);
    expect((await after.tessera.store.clients.findById(url))?.registration).toBe(
      'metadata_document',
    );
    expect(await after.tessera.clients.get(url)).toBeUndefined();
    expect((await injectAuthorize(after, url)).text).toContain('from 127.0.0.1 are refused');
  });

  it('refuses a host spelled other than canonically (a trailing dot above all) before the lists are matched', async () => {
    const secure = await startDocumentServer({ tls: true });
    try {
      const port = new URL(secure.url).port;
      const dotted = `https://localhost.:${port}/dotted.json`;
      // Served as asked, so only the host's spelling can keep it out.
      secure.serve('/dotted.json', { body: clientDocument(dotted) });
      const app = await appWith({
        TESSERA_CIMD_ALLOW_LOOPBACK: 'true',
        TESSERA_CIMD_DENY_HOSTS: 'localhost',
      });
      const page = await injectAuthorize(app, dotted);
      expect(page.status).toBe(400);
      expect(page.text).toContain('is not written in its canonical form (no trailing dot)');
      expect(secure.hits('/dotted.json')).toBe(0);
      for (const spelling of [
        `https://LOCALHOST:${port}/dotted.json`,
        `https://local%68ost:${port}/dotted.json`,
        `https://xn--localhost-:${port}/dotted.json`,
        `https://a..localhost:${port}/dotted.json`,
      ]) {
        const refused = await injectAuthorize(app, spelling);
        expect(refused.status, spelling).toBe(400);
        expect(refused.location, spelling).toBeUndefined();
      }
      expect(secure.hits('/dotted.json')).toBe(0);
    } finally {
      await secure.close();
    }
  });

  it('reads the host lists in canonical spelling: case, a trailing dot and Unicode names', () => {
    expect(parseHostList('Evil.Example.COM., *.Bücher.example, ,')).toEqual([
      'evil.example.com',
      '*.xn--bcher-kva.example',
    ]);
    expect(hostSpellingProblem('xn--bcher-kva.example')).toBeUndefined();
    expect(hostSpellingProblem('127.0.0.1')).toBeUndefined();
    expect(hostSpellingProblem('evil.example.com.')).toContain('no trailing dot');
    expect(hostSpellingProblem('.evil.example.com')).toContain('canonical form');
    expect(hostSpellingProblem('xn--a.example')).toContain('canonical form');
  });

  it('the allow-list admits only its hosts and patterns', async () => {
    const only = await appWith({
      TESSERA_CIMD_ALLOW_LOOPBACK: 'true',
      TESSERA_CIMD_ALLOW_HOSTS: '*.example.com',
    });
    const { url, path } = publish();
    const page = await injectAuthorize(only, url);
    expect(page.text).toContain('from 127.0.0.1 are not allowed');
    expect(docs.hits(path)).toBe(0);
    const allowed = await appWith({
      TESSERA_CIMD_ALLOW_LOOPBACK: 'true',
      TESSERA_CIMD_ALLOW_HOSTS: 'app.example.com 127.0.0.1',
    });
    expect((await injectAuthorize(allowed, url)).status).toBe(303);
  });
});
