import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DOCUMENT_LIMITS } from '../../src/domain/metadata-documents.js';
import { purgeOnce } from '../../src/jobs/purge.js';
import { FrozenClock } from '../../src/lib/clock.js';
import { type RunningServer, startServer } from '../helpers/app.js';
import { Browser } from '../helpers/browser.js';
import {
  clientDocument,
  type DocumentServer,
  startDocumentServer,
} from '../helpers/document-server.js';
import { eventually } from '../helpers/eventually.js';
import {
  authorizeAndConsent,
  authorizePath,
  makeUser,
  pkce,
  postForm,
  REDIRECT_URI,
  redirectParams,
  signInBrowser,
} from '../helpers/oauth.js';

const DAY = 86_400;

/**
 * Client ID Metadata Documents when their web sites are slow, down or hostile, over real HTTP:
 * the per-host limit on fetches, the grace time of a client accepted before (its last accepted
 * record answers while its document cannot be had, at /token above all), and the purge of
 * clients nobody consented to. Two document servers on two loopback addresses are two hosts.
 */
describe('Client ID Metadata Documents: availability and clean-up', () => {
  let docs: DocumentServer;
  let other: DocumentServer;
  let server: RunningServer;
  const clock = new FrozenClock();
  let paths = 0;

  beforeAll(async () => {
    docs = await startDocumentServer({ host: '127.0.0.2' });
    other = await startDocumentServer();
    server = await startServer({ clock, env: { TESSERA_CIMD_ALLOW_LOOPBACK: 'true' } });
  });
  afterAll(async () => {
    await server.close();
    await docs.close();
    await other.close();
  });

  /** A fresh path on `on` serving a valid document, cached for `maxAge` seconds. */
  function publish(on: DocumentServer, maxAge = 60) {
    const path = `/clients/${++paths}.json`;
    const url = `${on.url}${path}`;
    const headers = { 'cache-control': `max-age=${maxAge}` };
    on.serve(path, { body: clientDocument(url), headers });
    return { url, path, headers };
  }

  async function authorize(clientId: string) {
    const path = authorizePath({
      response_type: 'code',
      client_id: clientId,
      redirect_uri: REDIRECT_URI,
      scope: 'openid offline_access',
      state: 'st',
      code_challenge: pkce().challenge,
      code_challenge_method: 'S256',
    });
    const res = await fetch(`${server.url}${path}`, { redirect: 'manual' });
    return { status: res.status, text: await res.text() };
  }

  /** Signs a person in, consents and redeems the code: the client is accepted, with a refresh token. */
  async function acceptedClient(on: DocumentServer) {
    const published = publish(on);
    const ctx = server.app.tessera;
    const { user } = await makeUser(ctx);
    const browser = new Browser(server.url);
    await signInBrowser(ctx, browser, user);
    const { verifier, challenge } = pkce();
    const page = await authorizeAndConsent(
      browser,
      authorizePath({
        response_type: 'code',
        client_id: published.url,
        redirect_uri: REDIRECT_URI,
        scope: 'openid offline_access',
        state: 'st',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      }),
    );
    const code = redirectParams(page).get('code') ?? '';
    const tokens = await postForm(server.url, '/token', {
      grant_type: 'authorization_code',
      client_id: published.url,
      code,
      redirect_uri: REDIRECT_URI,
      code_verifier: verifier,
    });
    expect(tokens.status, tokens.text).toBe(200);
    let refreshToken = String(tokens.body.refresh_token);
    return {
      ...published,
      /** Refreshes at /token as the client, keeping the rotated refresh token. */
      async refresh() {
        const res = await postForm(server.url, '/token', {
          grant_type: 'refresh_token',
          client_id: published.url,
          refresh_token: refreshToken,
        });
        if (res.status === 200) refreshToken = String(res.body.refresh_token);
        return res;
      },
    };
  }

  it('a slow host holds at most 4 fetches: another host’s new client and an accepted client of the slow host go on', async () => {
    expect(DOCUMENT_LIMITS.maxConcurrentFetchesPerHost).toBe(4);
    expect(DOCUMENT_LIMITS.maxConcurrentFetches).toBe(32);
    const accepted = await acceptedClient(docs);
    clock.advance(61); // its document is stale: /token and /authorize would fetch it again

    // An attacker names 40 slow documents on the same host, more than the instance's 32 slots.
    const slow = Array.from({ length: 40 }, (_, n) => {
      const path = `/slow/${n}.json`;
      return docs.serve(path, () => ({
        body: clientDocument(`${docs.url}${path}`),
        delayMs: 3_000,
      }));
    });
    const flood = Promise.all(slow.map((url) => authorize(url)));
    const slowHits = () => slow.reduce((sum, url) => sum + docs.hits(new URL(url).pathname), 0);
    // Nothing of ours announces a fetch reaching the document server: polled.
    await eventually(() => slowHits() >= 4, { within: 2_000 });

    const started = Date.now();
    const refreshed = await accepted.refresh();
    expect(refreshed.status, refreshed.text).toBe(200);
    // The last accepted record answers at once: no wait on the slow host.
    expect(Date.now() - started).toBeLessThan(1_500);
    expect((await authorize(accepted.url)).status).toBe(303);
    const fresh = publish(other);
    expect((await authorize(fresh.url)).status).toBe(303);
    expect(other.hits(fresh.path)).toBe(1);

    const pages = await flood;
    expect(slowHits()).toBe(4);
    expect(pages.filter((p) => p.status === 303)).toHaveLength(4);
    const refused = pages.filter((p) => p.status === 400);
    expect(refused).toHaveLength(36);
    expect(refused[0]?.text).toContain('being fetched at once');
  });

  it('refreshes a stale client in the background at /token, applying its document’s change', async () => {
    const accepted = await acceptedClient(other);
    other.serve(accepted.path, {
      body: clientDocument(accepted.url, { client_name: 'Renamed' }),
      headers: accepted.headers,
    });
    clock.advance(61);
    expect((await accepted.refresh()).status).toBe(200);
    const store = server.app.tessera.store;
    // The fetch runs behind the answer; nothing of ours announces its end: polled.
    await eventually(async () => (await store.clients.findById(accepted.url))?.name === 'Renamed', {
      within: 2_000,
    });
    expect(other.hits(accepted.path)).toBe(2);
  });

  it('keeps a client accepted before working while its site is down (5xx), for the 48 h grace time', async () => {
    expect(DOCUMENT_LIMITS.graceSeconds).toBe(2 * DAY);
    const accepted = await acceptedClient(other);
    other.serve(accepted.path, { status: 500, body: 'down' });
    clock.advance(61);
    expect((await accepted.refresh()).status).toBe(200);
    expect((await authorize(accepted.url)).status).toBe(303);
    clock.advance(DAY);
    expect((await accepted.refresh()).status).toBe(200);
    expect((await authorize(accepted.url)).status).toBe(303);
    // Past the grace time, counted from its last accepted document, the failure is the answer.
    clock.advance(DAY);
    const page = await authorize(accepted.url);
    expect(page.status).toBe(400);
    expect(page.text).toContain('answered HTTP 500');
    clock.advance(DOCUMENT_LIMITS.failureSeconds);
    const refused = await accepted.refresh();
    expect(refused.status).toBe(401);
    expect(refused.body.error).toBe('invalid_client');
  });

  it('a document its publisher withdrew (404) or changed into one that is refused gets no grace', async () => {
    const changed = await acceptedClient(other);
    other.serve(changed.path, { body: clientDocument('https://someone.else/c.json') });
    const withdrawn = await acceptedClient(other);
    other.serve(withdrawn.path, { status: 404, body: 'gone' });
    clock.advance(61);
    const page = await authorize(changed.url);
    expect(page.status).toBe(400);
    expect(page.text).toContain('client_id is not the URL it was fetched from');
    expect((await changed.refresh()).status).toBe(401);
    expect((await authorize(withdrawn.url)).status).toBe(400);
    const refused = await withdrawn.refresh();
    expect(refused.status).toBe(401);
    expect(refused.body.error).toBe('invalid_client');
  });

  it('a new client never accepted before gets no grace: its failure is the answer', async () => {
    const path = '/never.json';
    const url = other.serve(path, { status: 503, body: '' });
    const page = await authorize(url);
    expect(page.status).toBe(400);
    expect(page.text).toContain('answered HTTP 503');
  });

  it('the purge job deletes, 7 days after its last acceptance, a client nobody consented to', async () => {
    expect(DOCUMENT_LIMITS.unusedSeconds).toBe(7 * DAY);
    const ctx = server.app.tessera;
    const unused = publish(other);
    expect((await authorize(unused.url)).status).toBe(303);
    const consented = await acceptedClient(other);
    clock.advance(7 * DAY - 1);
    await purgeOnce(ctx);
    expect(await ctx.store.clients.findById(unused.url)).toBeDefined();
    clock.advance(2);
    expect((await purgeOnce(ctx)).documentClients).toBeGreaterThanOrEqual(1);
    expect(await ctx.store.clients.findById(unused.url)).toBeUndefined();
    expect(await ctx.store.clients.findById(consented.url)).toBeDefined();
    // Named again, its document is fetched and the client comes back as new.
    expect((await authorize(unused.url)).status).toBe(303);
    expect(await ctx.store.clients.findById(unused.url)).toBeDefined();
  });
});
