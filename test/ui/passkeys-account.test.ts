import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import type { AppContext } from '../../src/context.js';
import { FrozenClock } from '../../src/lib/clock.js';
import { type RunningServer, startServer } from '../helpers/app.js';
import { passkeyFlows, postJson } from '../helpers/passkey-flows.js';
import { startSmtp, type TestSmtp } from '../helpers/smtp.js';

describe('passkeys on the account page, over HTTP with a software authenticator', () => {
  const clock = new FrozenClock();
  let server: RunningServer;
  let ctx: AppContext;
  let smtp: TestSmtp;
  beforeAll(async () => {
    smtp = await startSmtp();
    server = await startServer({ clock, env: { TESSERA_SMTP_URL: smtp.url } });
    ctx = server.app.tessera;
  });
  afterAll(async () => {
    await server?.close();
    await smtp?.close();
  });
  const { authenticator, signedIn, register, personWithPasskey, atLogin, passkeySignIn } =
    passkeyFlows(() => ({ server, ctx }));

  it('registers two named passkeys, lists them on the account page, renames one and removes the other', async () => {
    const { browser, user, csrf } = await signedIn();
    const laptop = authenticator({ synced: true });
    const key = authenticator();
    const first = await register(browser, csrf, laptop, '  Work laptop  ');
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.body).toMatchObject({
      name: 'Work laptop',
      redirect: '/account?notice=passkey-added',
    });

    // The second ceremony excludes the passkey already registered.
    const options = await postJson(browser, '/account/passkeys/options', { _csrf: csrf });
    expect(options.body.excludeCredentials).toEqual([
      expect.objectContaining({ id: first.body.id, type: 'public-key' }),
    ]);
    expect(options.body.authenticatorSelection).toMatchObject({
      residentKey: 'required',
      userVerification: 'preferred',
    });
    expect(options.body.attestation).toBe('none');
    const credential = key.create(options.body as never);
    const second = await postJson(browser, '/account/passkeys', {
      _csrf: csrf,
      name: 'Security key',
      credential,
    });
    expect(second.status).toBe(200);

    let page = await browser.get('/account?notice=passkey-added');
    expect(page.text).toContain('Your passkey has been added.');
    expect(page.text).toMatch(
      /<strong>Work laptop<\/strong>\s*<span class="muted">· Synced · added [\d-]+ [\d:]+ UTC · never used/,
    );
    expect(page.text).toMatch(
      /<strong>Security key<\/strong>\s*<span class="muted">· This device only/,
    );

    const renamed = await browser.post('/account/passkeys/rename', {
      _csrf: csrf,
      id: String(first.body.id),
      name: 'Home laptop',
    });
    expect(renamed.status).toBe(303);
    expect(renamed.location).toBe(`${server.url}/account?notice=passkey-renamed`);
    const removed = await browser.post('/account/passkeys/remove', {
      _csrf: csrf,
      id: String(second.body.id),
    });
    expect(removed.status).toBe(303);
    page = await browser.get('/account');
    expect(page.text).toContain('Home laptop');
    expect(page.text).not.toContain('Security key');
    expect((await ctx.store.passkeys.listForUser(user.id)).map((p) => p.name)).toEqual([
      'Home laptop',
    ]);

    const events = await ctx.store.audit.list({ limit: 20, userId: user.id });
    const security = events.filter((e) => e.type.startsWith('security.passkey'));
    // Each change is mailed to the person, naming the passkey; the first passkey also turned
    // two-factor on (a password sign-in now asks for a passkey), which is mailed too.
    const notices = await Promise.all([1, 2, 3, 4].map(() => smtp.next(user.email)));
    expect(notices[0]?.text).toContain('Work laptop');
    expect(notices[1]?.text).toMatch(/two.factor/i);
    expect(notices[2]?.text).toContain('Security key');
    expect(notices[3]?.text).toContain('Security key');
    expect(
      events.filter((e) => e.type.startsWith('security.two_factor')).map((e) => e.type),
    ).toEqual(['security.two_factor_enabled']);
    expect(security.map((e) => [e.type, e.details?.subject]).reverse()).toEqual([
      ['security.passkey_added', 'Work laptop'],
      ['security.passkey_added', 'Security key'],
      ['security.passkey_removed', 'Security key'],
    ]);
  });

  it('takes names of 1 to 64 characters, and refuses a 65th, an empty one or a control character', async () => {
    const { browser, csrf } = await signedIn();
    const device = authenticator();
    const long = await register(browser, csrf, device, 'x'.repeat(65));
    expect(long.status).toBe(400);
    expect(long.body).toMatchObject({ error: 'invalid_request', field: 'name' });
    expect((await register(browser, csrf, authenticator(), '')).body.field).toBe('name');
    expect((await register(browser, csrf, authenticator(), 'a\u0007b')).body.field).toBe('name');
    const edge = await register(browser, csrf, authenticator(), 'é'.repeat(64));
    expect(edge.status, JSON.stringify(edge.body)).toBe(200);

    const id = String(edge.body.id);
    const tooLong = await browser.post('/account/passkeys/rename', {
      _csrf: csrf,
      id,
      name: 'y'.repeat(65),
    });
    expect(tooLong.status).toBe(400);
    expect(tooLong.text).toContain('at most 64 characters');
  });

  it('asks for a session to add a passkey, and for a waiting sign-in to use one as the second factor', async () => {
    const { browser, csrf } = await atLogin();
    const options = await postJson(browser, '/account/passkeys/options', { _csrf: csrf });
    expect(options.status).toBe(401);
    expect(options.body.error).toBe('invalid_passkey');
    const second = await postJson(browser, '/login/second-factor/passkey/options', { _csrf: csrf });
    expect(second.status).toBe(401);
    // The form without JavaScript says what it needs.
    const person = await signedIn();
    const noScript = await person.browser.post('/account/passkeys', {
      _csrf: person.csrf,
      name: 'x',
    });
    expect(noScript.status).toBe(400);
    expect(noScript.text).toContain('Adding a passkey needs JavaScript');
  });

  it('deletes the passkeys with the account', async () => {
    const device = authenticator();
    const { browser, csrf, user, password } = await personWithPasskey(device);
    const deleted = await browser.post('/account/delete', { _csrf: csrf, password });
    expect(deleted.status).toBe(303);
    expect(await ctx.store.passkeys.listForUser(user.id)).toEqual([]);
    const login = await atLogin();
    expect((await passkeySignIn(login.browser, login.csrf, device)).status).toBe(400);
  });
});

describe('TESSERA_WEBAUTHN_RP_ID', () => {
  const parse = (issuer: string, rpId: string) =>
    parseConfig({
      TESSERA_ISSUER: issuer,
      TESSERA_WEBAUTHN_RP_ID: rpId,
      DATABASE_URL: 'sqlite::memory:',
    });

  it('may be the issuer’s host or a domain it is under', () => {
    expect(parse('https://login.example.com', 'login.example.com').webauthnRpId).toBe(
      'login.example.com',
    );
    expect(parse('https://login.example.com', 'example.com').webauthnRpId).toBe('example.com');
  });

  it('may not be another domain, a bare top-level domain, or anything but the host of an IP issuer', () => {
    expect(() => parse('https://login.example.com', 'other.com')).toThrow(/TESSERA_WEBAUTHN_RP_ID/);
    expect(() => parse('https://login.example.com', 'ample.com')).toThrow(/TESSERA_WEBAUTHN_RP_ID/);
    expect(() => parse('https://login.example.com', 'com')).toThrow(/at least two labels/);
    expect(() => parse('http://127.0.0.1:9000', '0.0.1')).toThrow(/IP address/);
  });
});
