import { beforeAll, describe, expect, it } from 'vitest';
import { Browser } from '../helpers/browser.js';
import { TEST_ADMIN_KEY } from '../helpers/config.js';
import { enrolTotp, totpFixture } from '../helpers/totp.js';

const KEY = { 'x-admin-key': TEST_ADMIN_KEY };

/** An admin removes the authenticator app of a person who lost it and their recovery codes. */
describe('admin API: DELETE /admin/api/users/:id/totp', () => {
  const f = totpFixture();
  let base = '';
  beforeAll(() => {
    base = f.server.url;
  });

  const remove = (id: string, headers: Record<string, string> = KEY) =>
    fetch(`${base}/admin/api/users/${encodeURIComponent(id)}/totp`, { method: 'DELETE', headers });

  it('removes the app and its recovery codes: two_factor false, the password alone signs in', async () => {
    const who = await f.enrolled();
    const res = await remove(who.user.id);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      id: who.user.id,
      username: who.user.username,
      totp_removed: true,
      two_factor: false,
    });
    expect(await f.ctx().store.totp.find(who.user.id)).toBeUndefined();
    expect(await f.ctx().store.totp.countRecoveryCodes(who.user.id)).toBe(0);
    expect(await f.auditTypes(who.user.id)).toContain('security.two_factor_disabled');
    const browser = new Browser(base);
    const form = await browser.get('/login');
    const done = await browser.submit(
      form,
      { 'Username or email': who.user.username, Password: who.password },
      'Sign in',
    );
    expect(new URL(done.location!).pathname).toBe('/account');
    // And the person can set up a new one.
    await enrolTotp(who.browser, f.clock);
  });

  it('says so when there was no app, 404 for nobody, 401 without the admin key', async () => {
    const who = await f.person();
    const none = await remove(who.user.id);
    expect(none.status).toBe(200);
    expect(await none.json()).toMatchObject({ totp_removed: false, two_factor: false });
    expect((await remove('no-such-user')).status).toBe(404);
    expect((await remove(who.user.id, {})).status).toBe(401);
  });
});
