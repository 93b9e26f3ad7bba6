import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { updateClient } from '../../src/domain/clients.js';
import { type RunningServer, startServer } from '../helpers/app.js';
import { Browser, type Page, readForms } from '../helpers/browser.js';
import { makeClient, makeUser, REDIRECT_URI, signInBrowser } from '../helpers/oauth.js';
import { signInThroughPage } from '../helpers/sign-in-page.js';

/**
 * Incremental authorization (docs/oauth.md, "Asking for more later"): a client with a person's
 * grant asks later for more. openid-client plays the client against a listening Tessera; the
 * person answers the consent page over HTTP.
 */
describe('incremental authorization: asking for more later', () => {
  let server: RunningServer;
  let ctx: AppContext;
  beforeAll(async () => {
    server = await startServer();
    ctx = server.app.tessera;
  });
  afterAll(async () => server.close());

  async function setup(scopes = ['openid', 'profile', 'email', 'phone', 'offline_access']) {
    const { client, secret } = await makeClient(ctx, {
      name: 'Photo App',
      scopes,
      grantTypes: ['authorization_code', 'refresh_token'],
    });
    const config = await oidc.discovery(
      new URL(server.url),
      client.id,
      {},
      oidc.ClientSecretBasic(secret!),
      { execute: [oidc.allowInsecureRequests] },
    );
    const { user } = await makeUser(ctx);
    const browser = new Browser(server.url);
    await signInBrowser(ctx, browser, user);
    return { client, config, user, browser };
  }

  /** An authorization request made by openid-client, sent by the person's browser. */
  async function ask(
    config: oidc.Configuration,
    browser: Browser,
    scope: string,
    extra: Record<string, string> = {},
  ) {
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT_URI,
      scope,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
      ...extra,
    });
    const page = await browser.get(url.toString());
    /** The client's side of the redirect: the code exchanged, or the error thrown. */
    const redeem = (callback: Page) =>
      oidc.authorizationCodeGrant(config, new URL(callback.location!), {
        pkceCodeVerifier: verifier,
        expectedState: state,
        expectedNonce: nonce,
      });
    return { page, redeem, url };
  }

  /** The scope names a consent page lists under `label` ("New" or "Already allowed"). */
  function listed(page: Page, label: string): string[] {
    const list = new RegExp(`<ul class="scopes[^"]*" aria-label="${label}">([\\s\\S]*?)</ul>`).exec(
      page.text,
    );
    if (!list) return [];
    return [...list[1]!.matchAll(/<li>([\s\S]*?)<\/li>/g)].map((item) => {
      const code = /<code>([^<]+)<\/code>/.exec(item[1]!);
      return code![1]!;
    });
  }

  const grantOf = async (userId: string, clientId: string) =>
    (await ctx.store.grants.find(userId, clientId))?.scopes;

  /** A first consent to `scope`, and its tokens. */
  async function firstConsent(config: oidc.Configuration, browser: Browser, scope: string) {
    const first = await ask(config, browser, scope);
    expect(first.page.status).toBe(200);
    // Nothing allowed before: a plain question, nothing marked "New".
    expect(listed(first.page, 'Already allowed')).toEqual([]);
    expect(first.page.text).not.toContain('>New<');
    return first.redeem(await browser.submit(first.page, {}, 'Allow'));
  }

  it('with include_granted_scopes=true, asks only for what is new and the tokens carry the union', async () => {
    const { client, config, user, browser } = await setup();
    const first = await firstConsent(config, browser, 'openid profile');
    expect(first.scope).toBe('openid profile');

    const later = await ask(config, browser, 'openid email', { include_granted_scopes: 'true' });
    expect(later.page.status).toBe(200);
    expect(listed(later.page, 'New')).toEqual(['email']);
    expect(later.page.text).toContain('<span class="new">New</span> See your e-mail address');
    // What the app has already is listed as such, not asked again: openid (asked again) and
    // profile (carried along by include_granted_scopes).
    expect(listed(later.page, 'Already allowed')).toEqual(['openid', 'profile']);
    expect(later.page.text).toContain('asks for more than you allowed it before');

    const tokens = await later.redeem(await browser.submit(later.page, {}, 'Allow'));
    expect(tokens.scope).toBe('openid profile email');
    const info = await oidc.fetchUserInfo(config, tokens.access_token, user.id);
    expect(info).toMatchObject({ email: user.email, given_name: 'Alice', family_name: 'Liddell' });
    expect(await grantOf(user.id, client.id)).toEqual(['openid', 'profile', 'email']);

    // Everything is granted now: no page, and the union again.
    const silent = await ask(config, browser, 'openid', {
      include_granted_scopes: 'true',
      prompt: 'none',
    });
    expect(silent.page.status).toBe(302);
    expect((await silent.redeem(silent.page)).scope).toBe('openid profile email');
  });

  it('without include_granted_scopes (or with false), the tokens carry only what was asked for', async () => {
    const { client, config, user, browser } = await setup();
    await firstConsent(config, browser, 'openid profile');

    const later = await ask(config, browser, 'openid email');
    expect(listed(later.page, 'New')).toEqual(['email']);
    // profile is not asked for and the tokens will not carry it: the page does not list it.
    expect(listed(later.page, 'Already allowed')).toEqual(['openid']);
    const tokens = await later.redeem(await browser.submit(later.page, {}, 'Allow'));
    expect(tokens.scope).toBe('openid email');
    const info = await oidc.fetchUserInfo(config, tokens.access_token, user.id);
    expect(info.email).toBe(user.email);
    expect(info.given_name).toBeUndefined();
    // The grant remembers both, for later requests.
    expect(await grantOf(user.id, client.id)).toEqual(['openid', 'profile', 'email']);

    const explicit = await ask(config, browser, 'openid', {
      include_granted_scopes: 'false',
      prompt: 'none',
    });
    expect((await explicit.redeem(explicit.page)).scope).toBe('openid');
  });

  it('Deny leaves the earlier grant and its refresh token as they were; prompt=none is consent_required', async () => {
    const { client, config, user, browser } = await setup();
    const first = await firstConsent(config, browser, 'openid profile offline_access');
    expect(first.refresh_token).toBeTruthy();

    const later = await ask(config, browser, 'openid email', { include_granted_scopes: 'true' });
    expect(listed(later.page, 'New')).toEqual(['email']);
    const denied = await browser.submit(later.page, {}, 'Deny');
    await expect(later.redeem(denied)).rejects.toMatchObject({ error: 'access_denied' });
    expect(await grantOf(user.id, client.id)).toEqual(['openid', 'profile', 'offline_access']);

    // The refresh token from before still works, with the scope it had.
    const refreshed = await oidc.refreshTokenGrant(config, first.refresh_token!);
    expect(refreshed.scope).toBe('openid profile offline_access');

    const silent = await ask(config, browser, 'openid email', {
      include_granted_scopes: 'true',
      prompt: 'none',
    });
    await expect(silent.redeem(silent.page)).rejects.toMatchObject({
      error: 'consent_required',
    });
    expect(await grantOf(user.id, client.id)).toEqual(['openid', 'profile', 'offline_access']);
    expect((await oidc.refreshTokenGrant(config, refreshed.refresh_token!)).scope).toBe(
      'openid profile offline_access',
    );

    // What was declined never joins the union: only the stored grant's scopes do.
    const union = await ask(config, browser, 'openid', {
      include_granted_scopes: 'true',
      prompt: 'none',
    });
    expect((await union.redeem(union.page)).scope).toBe('openid profile offline_access');
  });

  it('a client whose allowed scopes were narrowed since gets only what it may still have', async () => {
    const { client, config, user, browser } = await setup();
    await firstConsent(config, browser, 'openid profile phone');
    await updateClient(ctx, client.id, { scopes: ['openid', 'email'] });

    const later = await ask(config, browser, 'openid email', { include_granted_scopes: 'true' });
    expect(listed(later.page, 'New')).toEqual(['email']);
    expect(listed(later.page, 'Already allowed')).toEqual(['openid']);
    const tokens = await later.redeem(await browser.submit(later.page, {}, 'Allow'));
    expect(tokens.scope).toBe('openid email');
    const info = await oidc.fetchUserInfo(config, tokens.access_token, user.id);
    expect(info.given_name).toBeUndefined();
    expect(info.phone_number).toBeUndefined();

    // Given its scopes back, the client finds them still granted (the grant was never narrowed).
    await updateClient(ctx, client.id, { scopes: ['openid', 'profile', 'email', 'phone'] });
    const again = await ask(config, browser, 'openid', {
      include_granted_scopes: 'true',
      prompt: 'none',
    });
    expect((await again.redeem(again.page)).scope).toBe('openid profile phone email');
  });

  it('carries only the grant of the person signed in, never another person’s', async () => {
    const { client, config, browser } = await setup();
    await firstConsent(config, browser, 'openid profile');

    const { user: other } = await makeUser(ctx);
    const otherBrowser = new Browser(server.url);
    await signInBrowser(ctx, otherBrowser, other);
    const theirs = await ask(config, otherBrowser, 'openid email', {
      include_granted_scopes: 'true',
    });
    expect(listed(theirs.page, 'Already allowed')).toEqual([]);
    expect(theirs.page.text).not.toContain('>New<');
    const tokens = await theirs.redeem(await otherBrowser.submit(theirs.page, {}, 'Allow'));
    expect(tokens.scope).toBe('openid email');
    expect(await grantOf(other.id, client.id)).toEqual(['openid', 'email']);
  });

  it('claims asked for by name follow the same rule: new ones marked, consented ones listed as allowed', async () => {
    const { config, user, browser } = await setup(['openid', 'profile', 'email', 'phone']);
    const phone = JSON.stringify({ userinfo: { phone_number: null } });
    const first = await ask(config, browser, 'openid', { claims: phone });
    await first.redeem(await browser.submit(first.page, {}, 'Allow'));

    const both = JSON.stringify({ userinfo: { phone_number: null, email: null } });
    const later = await ask(config, browser, 'openid', { claims: both });
    expect(listed(later.page, 'New')).toEqual(['email']);
    expect(listed(later.page, 'Already allowed')).toEqual(['openid', 'phone_number']);
    const tokens = await later.redeem(await browser.submit(later.page, {}, 'Allow'));
    expect(await oidc.fetchUserInfo(config, tokens.access_token, user.id)).toEqual({
      sub: user.id,
      phone_number: '+44 20 7946 0000',
      email: user.email,
    });

    // include_granted_scopes carries scopes, not claims asked for by name before: a request
    // without `claims` releases nothing but what its scopes do.
    const plain = await ask(config, browser, 'openid', {
      include_granted_scopes: 'true',
      prompt: 'none',
    });
    const plainTokens = await plain.redeem(plain.page);
    expect(plainTokens.scope).toBe('openid');
    expect(await oidc.fetchUserInfo(config, plainTokens.access_token, user.id)).toEqual({
      sub: user.id,
    });

    // Nor can `claims` reach past the grant silently: a claim not consented is consent_required.
    const wider = JSON.stringify({ userinfo: { given_name: null } });
    const silent = await ask(config, browser, 'openid', {
      claims: wider,
      include_granted_scopes: 'true',
      prompt: 'none',
    });
    await expect(silent.redeem(silent.page)).rejects.toMatchObject({
      error: 'consent_required',
    });
  });

  it('include_granted_scopes survives the sign-in page, and prompt=consent with nothing new asks only to confirm', async () => {
    const { client, config, user, browser } = await setup();
    await firstConsent(config, browser, 'openid profile');

    // Signed out, the request goes through the sign-in page and comes back with the parameter.
    const fresh = new Browser(server.url);
    const later = await ask(config, fresh, 'openid email', { include_granted_scopes: 'true' });
    expect(later.page.status).toBe(303);
    const consent = await signInThroughPage(
      fresh,
      later.page,
      user.username,
      'correct horse battery staple',
    );
    expect(listed(consent, 'New')).toEqual(['email']);
    expect(listed(consent, 'Already allowed')).toEqual(['openid', 'profile']);
    const tokens = await later.redeem(await fresh.submit(consent, {}, 'Allow'));
    expect(tokens.scope).toBe('openid profile email');

    const confirm = await ask(config, browser, 'openid', {
      include_granted_scopes: 'true',
      prompt: 'consent',
    });
    expect(confirm.page.text).toContain('Nothing new is asked');
    expect(listed(confirm.page, 'New')).toEqual([]);
    expect(listed(confirm.page, 'Already allowed')).toEqual(['openid', 'profile', 'email']);
    const confirmed = await confirm.redeem(await browser.submit(confirm.page, {}, 'Allow'));
    expect(confirmed.scope).toBe('openid profile email');
    expect(await grantOf(user.id, client.id)).toEqual(['openid', 'profile', 'email']);
  });

  it('the front-channel access token of a hybrid response carries the union too', async () => {
    const { client, secret } = await makeClient(ctx, {
      scopes: ['openid', 'profile', 'email'],
      responseTypes: ['code', 'code id_token token'],
    });
    const config = await oidc.discovery(
      new URL(server.url),
      client.id,
      {},
      oidc.ClientSecretBasic(secret!),
      { execute: [oidc.allowInsecureRequests] },
    );
    const { user } = await makeUser(ctx);
    const browser = new Browser(server.url);
    await signInBrowser(ctx, browser, user);
    await firstConsent(config, browser, 'openid profile');
    const hybrid = await ask(config, browser, 'openid email', {
      include_granted_scopes: 'true',
      response_type: 'code id_token token',
    });
    const back = await browser.submit(hybrid.page, {}, 'Allow');
    const fragment = new URLSearchParams(new URL(back.location!).hash.slice(1));
    const access = fragment.get('access_token')!;
    const payload = JSON.parse(Buffer.from(access.split('.')[1]!, 'base64url').toString('utf8'));
    expect(payload.scope).toBe('openid profile email');
  });

  it('include_granted_scopes works in a pushed authorization request (RFC 9126), and a bad value is refused at /par', async () => {
    const { config, browser } = await setup();
    await firstConsent(config, browser, 'openid profile');
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const url = await oidc.buildAuthorizationUrlWithPAR(config, {
      redirect_uri: REDIRECT_URI,
      scope: 'openid email',
      include_granted_scopes: 'true',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
    });
    const page = await browser.get(url.toString());
    expect(listed(page, 'New')).toEqual(['email']);
    expect(listed(page, 'Already allowed')).toEqual(['openid', 'profile']);
    const back = await browser.submit(page, {}, 'Allow');
    const tokens = await oidc.authorizationCodeGrant(config, new URL(back.location!), {
      pkceCodeVerifier: verifier,
      expectedState: state,
    });
    expect(tokens.scope).toBe('openid profile email');

    await expect(
      oidc.buildAuthorizationUrlWithPAR(config, {
        redirect_uri: REDIRECT_URI,
        scope: 'openid',
        include_granted_scopes: 'yes',
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
      }),
    ).rejects.toMatchObject({
      error: 'invalid_request',
      error_description: 'include_granted_scopes must be "true" or "false"',
      status: 400,
    });
  });

  describe('hostile input', () => {
    it.each([['yes'], ['TRUE'], ['1'], ['true ']])(
      'include_granted_scopes=%j is invalid_request',
      async (value) => {
        const { config, browser } = await setup();
        const bad = await ask(config, browser, 'openid', { include_granted_scopes: value });
        await expect(bad.redeem(bad.page)).rejects.toMatchObject({
          error: 'invalid_request',
          error_description: 'include_granted_scopes must be "true" or "false"',
        });
      },
    );

    it('include_granted_scopes or scope sent twice is invalid_request', async () => {
      const { config, browser } = await setup();
      for (const name of ['include_granted_scopes', 'scope']) {
        const twice = await ask(config, browser, 'openid', { include_granted_scopes: 'true' });
        const url = new URL(twice.url);
        url.searchParams.append(name, name === 'scope' ? 'openid profile' : 'true');
        const page = await browser.get(url.toString());
        await expect(twice.redeem(page)).rejects.toMatchObject({
          error: 'invalid_request',
          error_description: `parameter "${name}" must not be sent more than once`,
        });
      }
    });

    it('a consent form posted with extra scopes, claims or include_granted_scopes grants only what the page asked', async () => {
      const { client, config, user, browser } = await setup();
      await firstConsent(config, browser, 'openid');
      const later = await ask(config, browser, 'openid email');
      const form = readForms(later.page.text, later.page.url).find((f) =>
        f.action.endsWith('/consent'),
      )!;
      const forged = await browser.post(form.action, {
        ...form.fields,
        decision: 'allow',
        scope: 'openid profile email phone offline_access',
        include_granted_scopes: 'true',
        claims: JSON.stringify({ userinfo: { phone_number: null, given_name: null } }),
      });
      const tokens = await later.redeem(forged);
      expect(tokens.scope).toBe('openid email');
      expect((await oidc.refreshTokenGrant(config, tokens.refresh_token!)).scope).toBe(
        'openid email',
      );
      const info = await oidc.fetchUserInfo(config, tokens.access_token, user.id);
      expect(Object.keys(info).sort()).toEqual(['email', 'email_verified', 'sub']);
      expect(await grantOf(user.id, client.id)).toEqual(['openid', 'email']);
    });

    it('a consent form is answered once, and a tampered one not at all', async () => {
      const { config, browser } = await setup();
      await firstConsent(config, browser, 'openid');
      const later = await ask(config, browser, 'openid email', { include_granted_scopes: 'true' });
      const form = readForms(later.page.text, later.page.url).find((f) =>
        f.action.endsWith('/consent'),
      )!;
      const [body, sig] = form.fields.interaction!.split('.');
      // The sealed request with another scope, under the old signature.
      const sealed = JSON.parse(Buffer.from(body!, 'base64url').toString('utf8'));
      sealed.p.scope = 'openid email phone';
      const tampered = `${Buffer.from(JSON.stringify(sealed)).toString('base64url')}.${sig}`;
      const refused = await browser.post(form.action, {
        ...form.fields,
        interaction: tampered,
        decision: 'allow',
      });
      expect(refused.status).toBe(400);
      expect(refused.text).toContain('this consent form has expired or belongs to another sign-in');

      const allowed = await browser.post(form.action, { ...form.fields, decision: 'allow' });
      expect((await later.redeem(allowed)).scope).toBe('openid email');
      const replayed = await browser.post(form.action, { ...form.fields, decision: 'allow' });
      expect(replayed.status).toBe(400);
      expect(replayed.text).toContain('this consent form has already been answered');
    });

    it('a consent page answered after the client was narrowed grants nothing it may no longer have', async () => {
      const { client, config, user, browser } = await setup(['openid', 'profile', 'email']);
      await firstConsent(config, browser, 'openid profile');

      // The page lists profile as allowed before; the administrator then takes profile away.
      const carried = await ask(config, browser, 'openid email', {
        include_granted_scopes: 'true',
      });
      expect(listed(carried.page, 'Already allowed')).toEqual(['openid', 'profile']);
      await updateClient(ctx, client.id, { scopes: ['openid', 'email'] });
      const tokens = await carried.redeem(await browser.submit(carried.page, {}, 'Allow'));
      expect(tokens.scope).toBe('openid email');

      // And a page asking for a scope taken away before Allow: invalid_scope, grant unchanged.
      await updateClient(ctx, client.id, { scopes: ['openid', 'profile', 'email'] });
      const { client: other, secret } = await makeClient(ctx, { scopes: ['openid', 'email'] });
      const otherConfig = await oidc.discovery(
        new URL(server.url),
        other.id,
        {},
        oidc.ClientSecretBasic(secret!),
        { execute: [oidc.allowInsecureRequests] },
      );
      const first = await firstConsent(otherConfig, browser, 'openid');
      expect(first.scope).toBe('openid');
      const asking = await ask(otherConfig, browser, 'openid email');
      await updateClient(ctx, other.id, { scopes: ['openid'] });
      await expect(
        asking.redeem(await browser.submit(asking.page, {}, 'Allow')),
      ).rejects.toMatchObject({ error: 'invalid_scope' });
      expect(await grantOf(user.id, other.id)).toEqual(['openid']);
    });

    it('a consent page answered after the person took the app’s access back asks again, without what was taken back', async () => {
      const { client, config, user, browser } = await setup();
      await firstConsent(config, browser, 'openid profile');
      const later = await ask(config, browser, 'openid email', { include_granted_scopes: 'true' });
      expect(listed(later.page, 'Already allowed')).toEqual(['openid', 'profile']);

      // Meanwhile, in another tab, the person revokes the app on the account page.
      const account = await browser.get('/account');
      const revoke = readForms(account.text, account.url).find((f) =>
        f.action.endsWith('/account/apps/revoke'),
      )!;
      expect((await browser.post(revoke.action, revoke.fields)).status).toBe(303);
      expect(await grantOf(user.id, client.id)).toBeUndefined();

      // The page said openid and profile were allowed already; they are not any more, so its
      // Allow does not stand for them: the page comes again, asking for what is asked now.
      const again = await browser.submit(later.page, {}, 'Allow');
      expect(again.status).toBe(200);
      expect(listed(again, 'Already allowed')).toEqual([]);
      expect(again.text).not.toContain('<code>profile</code>');
      expect(await grantOf(user.id, client.id)).toBeUndefined();
      const tokens = await later.redeem(await browser.submit(again, {}, 'Allow'));
      expect(tokens.scope).toBe('openid email');
      expect(await grantOf(user.id, client.id)).toEqual(['openid', 'email']);
    });
  });
});
