import { describe, expect, it } from 'vitest';
import { Browser } from '../helpers/browser.js';
import { csrfOf, postJson } from '../helpers/passkey-flows.js';
import { enrolTotp, secretOf, totpCode, totpFixture } from '../helpers/totp.js';
import { SoftAuthenticator } from '../helpers/webauthn.js';

/*
 * Changes of sign-in factors on the account page (add or remove a passkey, turn on an
 * authenticator app) need a sign-in younger than TESSERA_REAUTH_SECONDS (300 s) or the
 * "Password or code" field: a stolen, older session alone is not enough.
 */
describe('re-authentication before changing sign-in factors', () => {
  const f = totpFixture();
  const device = () => new SoftAuthenticator({ origin: f.server.origin });

  async function addPasskey(who: { browser: Browser }, confirm?: string) {
    const csrf = csrfOf(await who.browser.get('/account'));
    const options = await postJson(who.browser, '/account/passkeys/options', {
      _csrf: csrf,
      ...(confirm !== undefined ? { confirm } : {}),
    });
    if (options.status !== 200) return options;
    const credential = device().create(options.body as never);
    return postJson(who.browser, '/account/passkeys', { _csrf: csrf, name: 'Thief', credential });
  }

  it('a fresh sign-in adds a passkey without the field; at 300 s it must give the password', async () => {
    const who = await f.person();
    f.clock.advance(299);
    expect((await addPasskey(who)).status).toBe(200);
    f.clock.advance(1);
    const refused = await addPasskey(who);
    expect(refused.status).toBe(401);
    expect(refused.body).toMatchObject({ error: 'reauthentication_required', field: 'confirm' });
    expect((await addPasskey(who, 'not my password')).status).toBe(401);
    expect((await f.ctx().store.passkeys.listForUser(who.user.id)).length).toBe(1);
    // The page asks for it, beside "Add a passkey".
    const page = await who.browser.get('/account');
    expect(page.text).toContain('id="passkey-add-confirmation"');
    expect((await addPasskey(who, who.password)).status).toBe(200);
    expect((await f.ctx().store.passkeys.listForUser(who.user.id)).length).toBe(2);
  });

  it('an old session adds a passkey with a code from the authenticator app', async () => {
    const who = await f.enrolled();
    f.clock.advance(600);
    expect((await addPasskey(who)).status).toBe(401);
    const added = await addPasskey(who, await totpCode(who.secret, f.clock));
    expect(added.status, JSON.stringify(added.body)).toBe(200);
  });

  it('a ceremony begun by another session, even of the same person, cannot add a passkey here', async () => {
    // An old session (a thief's copy), and a fresh one of the same person elsewhere.
    const stolen = await f.person();
    f.clock.advance(301);
    const fresh = new Browser(f.server.url);
    const login = await fresh.get('/login');
    await fresh.submit(
      login,
      { 'Username or email': stolen.user.username, Password: stolen.password },
      'Sign in',
    );
    const csrf = csrfOf(await fresh.get('/account'));
    const options = await postJson(fresh, '/account/passkeys/options', { _csrf: csrf });
    expect(options.status).toBe(200);
    stolen.browser.cookies.set('tessera_webauthn', fresh.cookies.get('tessera_webauthn')!);
    const stolenCsrf = csrfOf(await stolen.browser.get('/account'));
    const added = await postJson(stolen.browser, '/account/passkeys', {
      _csrf: stolenCsrf,
      name: 'Thief',
      credential: device().create(options.body as never),
    });
    expect(added.status).toBe(400);
    expect(added.body.error).toBe('invalid_passkey');
    expect(await f.ctx().store.passkeys.listForUser(stolen.user.id)).toEqual([]);
  });

  it('removing a passkey from an old session needs the password or a code; two-factor stays on without it', async () => {
    const who = await f.person();
    expect((await addPasskey(who)).status).toBe(200);
    const [passkey] = await f.ctx().store.passkeys.listForUser(who.user.id);
    f.clock.advance(301);
    const csrf = csrfOf(await who.browser.get('/account'));
    const refused = await who.browser.post('/account/passkeys/remove', {
      _csrf: csrf,
      id: passkey!.id,
    });
    expect(refused.status).toBe(401);
    expect(refused.text).toContain('Your passkey was not removed.');
    expect((await f.ctx().store.users.findById(who.user.id))?.twoFactor).toBe(true);
    const wrong = await who.browser.post('/account/passkeys/remove', {
      _csrf: csrf,
      id: passkey!.id,
      confirmation: 'wrong',
    });
    expect(wrong.status).toBe(401);
    const removed = await who.browser.post('/account/passkeys/remove', {
      _csrf: csrf,
      id: passkey!.id,
      confirmation: who.password,
    });
    expect(removed.status).toBe(303);
    expect(await f.ctx().store.passkeys.listForUser(who.user.id)).toEqual([]);
  });

  it('a fresh sign-in removes a passkey without the field', async () => {
    const who = await f.person();
    expect((await addPasskey(who)).status).toBe(200);
    const [passkey] = await f.ctx().store.passkeys.listForUser(who.user.id);
    const csrf = csrfOf(await who.browser.get('/account'));
    const removed = await who.browser.post('/account/passkeys/remove', {
      _csrf: csrf,
      id: passkey!.id,
    });
    expect(removed.status).toBe(303);
  });

  it('turning on an authenticator app from an old session needs the password', async () => {
    const who = await f.person();
    f.clock.advance(301);
    const setup = await who.browser.get('/account/two-factor');
    expect(setup.text).toContain('id="confirmation"');
    const secret = secretOf(setup);
    const csrf = csrfOf(setup);
    const enrolment = /name="enrolment" value="([^"]+)"/.exec(setup.text)![1]!;
    const code = await totpCode(secret, f.clock);
    const refused = await who.browser.post('/account/two-factor', { _csrf: csrf, enrolment, code });
    expect(refused.status).toBe(401);
    expect(refused.text).toContain('Two-factor authentication is still off.');
    expect(await f.ctx().store.totp.find(who.user.id)).toBeUndefined();
    const on = await who.browser.post('/account/two-factor', {
      _csrf: csrf,
      enrolment,
      code,
      confirmation: who.password,
    });
    expect(on.status, on.text.slice(0, 300)).toBe(200);
    expect(await f.ctx().store.totp.find(who.user.id)).toBeDefined();
  });

  it('a fresh sign-in turns on an authenticator app without the field', async () => {
    const who = await f.person();
    const { recoveryCodes } = await enrolTotp(who.browser, f.clock);
    expect(recoveryCodes).toHaveLength(10);
  });
  describe('changing the e-mail address (it signs in with e-mailed codes and resets the password)', () => {
    async function changeEmail(who: { browser: Browser }, email: string, confirmation?: string) {
      const page = await who.browser.get('/account/edit');
      return who.browser.submit(
        page,
        {
          Email: email,
          ...(confirmation !== undefined ? { 'Password or code': confirmation } : {}),
        },
        'Save changes',
      );
    }

    it('from an old session needs the password or a code; nothing is pending or mailed without it', async () => {
      const who = await f.person();
      f.clock.advance(300);
      const page = await who.browser.get('/account/edit');
      expect(page.text).toContain('id="confirmation"');
      const refused = await changeEmail(who, 'thief@example.net');
      expect(refused.status).toBe(401);
      expect(refused.text).toContain('Your address was not changed.');
      const wrong = await changeEmail(who, 'thief@example.net', 'not my password');
      expect(wrong.status).toBe(401);
      const kept = await f.ctx().store.users.findById(who.user.id);
      expect(kept?.pendingEmail).toBeNull();
      expect(f.smtp.to('thief@example.net')).toEqual([]);
      const confirmed = await changeEmail(who, 'thief@example.net', who.password);
      expect(confirmed.status).toBe(303);
      expect((await f.ctx().store.users.findById(who.user.id))?.pendingEmail).toBe(
        'thief@example.net',
      );
    });

    it('from an old session still saves other fields without it, the address unchanged', async () => {
      const who = await f.person();
      f.clock.advance(3600);
      const page = await who.browser.get('/account/edit');
      const saved = await who.browser.submit(page, { 'First name': 'Ada' }, 'Save changes');
      expect(saved.status).toBe(303);
      expect((await f.ctx().store.users.findById(who.user.id))?.givenName).toBe('Ada');
    });

    it('from a fresh sign-in needs nothing more', async () => {
      const who = await f.person();
      expect((await who.browser.get('/account/edit')).text).not.toContain('id="confirmation"');
      expect((await changeEmail(who, 'new-address@example.net')).status).toBe(303);
    });
  });
});
