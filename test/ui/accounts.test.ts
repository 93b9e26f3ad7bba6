import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerUser } from '../../src/domain/users.js';
import { CSRF_FIELD } from '../../src/http/csrf.js';
import { SESSION_COOKIE } from '../../src/http/session.js';
import { type RunningServer, startServer, testApp } from '../helpers/app.js';
import { Browser, type Page } from '../helpers/browser.js';

const PASSWORD = 'correct horse battery';

interface Person {
  username: string;
  email: string;
  given: string;
  family: string;
  phone: string;
}

let counter = 0;
function person(): Person {
  counter += 1;
  return {
    username: `ada${counter}`,
    email: `ada${counter}@example.com`,
    given: 'Ada',
    family: `Lovelace ${counter}`,
    phone: `+44 20 7946 000${counter}`,
  };
}

async function signUp(browser: Browser, who: Person, returnTo?: string): Promise<Page> {
  const form = await browser.get(
    returnTo ? `/signup?return_to=${encodeURIComponent(returnTo)}` : '/signup',
  );
  expect(form.status).toBe(200);
  return browser.submit(
    form,
    {
      'First name': who.given,
      'Last name': who.family,
      Username: who.username,
      Phone: who.phone,
      Email: who.email,
      Password: PASSWORD,
    },
    'Create account',
  );
}

async function signIn(browser: Browser, login: string, password: string, path = '/login') {
  const form = await browser.get(path);
  return browser.submit(form, { 'Username or email': login, Password: password }, 'Sign in');
}

describe('account pages over HTTP', () => {
  let server: RunningServer;
  const store = () => server.app.tessera.store;

  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => {
    await server.close();
  });

  it('signs up through the form, starts a session and shows the profile on /account', async () => {
    const browser = new Browser(server.url);
    const who = person();
    const created = await signUp(browser, who);
    expect(created.status).toBe(303);
    expect(created.location).toBe(`${server.url}/account`);
    expect(browser.cookies.has(SESSION_COOKIE)).toBe(true);

    const account = await browser.follow(created);
    expect(account.status).toBe(200);
    expect(account.text).toContain(`Signed in as <strong>${who.username}</strong>`);
    for (const shown of [who.username, who.email, who.given, who.family, who.phone]) {
      expect(account.text).toContain(shown);
    }
    expect(account.text).toMatch(/<dt>Email verified<\/dt><dd>No<\/dd>/);
    expect(account.text).toMatch(/<dt>Role<\/dt><dd>user<\/dd>/);
    expect(account.text).toMatch(/<dt>Two-factor sign-in<\/dt><dd>Off<\/dd>/);

    const user = await store().users.findByLogin(who.username);
    expect(user?.passwordHash).toMatch(/^\$argon2id\$/);
    expect(user?.phoneNumber).toBe(who.phone);
  });

  it('re-renders the sign-up form with the error, the typed values and no password', async () => {
    const browser = new Browser(server.url);
    const who = person();
    const form = await browser.get('/signup');
    const bad = await browser.submit(
      form,
      { Username: who.username, Email: 'not-an-address', Password: PASSWORD, 'First name': 'Ada' },
      'Create account',
    );
    expect(bad.status).toBe(400);
    expect(bad.text).toMatch(/role="alert"[^>]*>Email is not a valid e-mail address/);
    expect(bad.text).toContain(`value="${who.username}"`);
    expect(bad.text).toContain('value="not-an-address"');
    expect(bad.text).not.toContain(PASSWORD);
    expect(await store().users.findByLogin(who.username)).toBeUndefined();
  });

  it('answers a duplicate username or e-mail on sign-up with 409 and the form again', async () => {
    const first = person();
    expect((await signUp(new Browser(server.url), first)).status).toBe(303);
    const before = await store().users.count();

    const sameName = await signUp(new Browser(server.url), {
      ...person(),
      username: first.username,
    });
    expect(sameName.status).toBe(409);
    expect(sameName.text).toMatch(/role="alert"[^>]*>That username is already taken/);

    const sameEmail = await signUp(new Browser(server.url), {
      ...person(),
      email: first.email.toUpperCase(),
    });
    expect(sameEmail.status).toBe(409);
    expect(sameEmail.text).toMatch(/role="alert"[^>]*>An account with that email address/);
    expect(await store().users.count()).toBe(before);
  });

  it('signs out with the header button and then asks to sign in for /account', async () => {
    const browser = new Browser(server.url);
    const account = await browser.follow(await signUp(browser, person()));
    const out = await browser.submit(account, {}, 'Sign out');
    expect(out.status).toBe(303);
    expect(out.location).toBe(`${server.url}/login`);
    expect(browser.cookies.has(SESSION_COOKIE)).toBe(false);

    const again = await browser.get('/account');
    expect(again.status).toBe(303);
    expect(again.location).toBe(`${server.url}/login?return_to=/account`);
  });

  it('signs in with the username and with the e-mail address', async () => {
    const who = person();
    await signUp(new Browser(server.url), who);

    for (const login of [who.username, who.email.toUpperCase()]) {
      const browser = new Browser(server.url);
      const done = await signIn(browser, login, PASSWORD);
      expect(done.status).toBe(303);
      expect(done.location).toBe(`${server.url}/account`);
      const account = await browser.follow(done);
      expect(account.text).toContain(`Signed in as <strong>${who.username}</strong>`);
    }
    const id = (await store().users.findByLogin(who.username))!.id;
    const events = await store().audit.list({ limit: 50, userId: id });
    const logins = events.filter((e) => e.type === 'user.login');
    // One when signing up, one for each sign-in.
    expect(logins.map((e) => e.details?.via ?? 'form').sort()).toEqual(['form', 'form', 'signup']);
  });

  it('refuses a wrong password or an unknown account with 401 and one generic message', async () => {
    const who = person();
    await signUp(new Browser(server.url), who);

    const wrong = await signIn(new Browser(server.url), who.username, 'wrong password!');
    const unknown = await signIn(new Browser(server.url), 'nobody-here', PASSWORD);
    for (const page of [wrong, unknown]) {
      expect(page.status).toBe(401);
      expect(page.text).toMatch(/role="alert"[^>]*>Incorrect username\/email or password</);
      expect(page.headers.get('set-cookie') ?? '').not.toContain(SESSION_COOKIE);
    }
    expect(wrong.text).toContain(`value="${who.username}"`);
    const failed = (await store().audit.list({ limit: 50 })).filter(
      (e) => e.type === 'user.login_failed',
    );
    expect(failed.map((e) => e.details?.login)).toContain(who.username);
    // What was typed for a login that names no account is not kept: often a misplaced password.
    expect(JSON.stringify(failed)).not.toContain('nobody-here');
  });

  it('edits the profile and shows the new values on /account', async () => {
    const browser = new Browser(server.url);
    const who = person();
    await browser.follow(await signUp(browser, who));
    const edit = await browser.get('/account/edit');
    expect(edit.status).toBe(200);
    expect(edit.text).toContain(`value="${who.email}"`);

    const saved = await browser.submit(
      edit,
      {
        'First name': 'Augusta',
        'Last name': 'King',
        Username: `${who.username}-king`,
        Email: who.email,
        Phone: '',
      },
      'Save changes',
    );
    expect(saved.status).toBe(303);
    const account = await browser.follow(saved);
    expect(account.text).toContain('Your profile has been saved.');
    expect(account.text).toContain(`Signed in as <strong>${who.username}-king</strong>`);
    for (const shown of ['Augusta', 'King', who.email]) expect(account.text).toContain(shown);

    const user = await store().users.findByLogin(`${who.username}-king`);
    expect(user).toMatchObject({ givenName: 'Augusta', familyName: 'King', phoneNumber: null });
  });

  it('keeps a verified address while a new one waits to be verified, and it verified when unchanged', async () => {
    const ctx = server.app.tessera;
    const who = person();
    await registerUser(ctx, {
      username: who.username,
      email: who.email,
      password: PASSWORD,
      emailVerified: true,
    });
    const browser = new Browser(server.url);
    await signIn(browser, who.username, PASSWORD);
    const edit = await browser.get('/account/edit');
    await browser.submit(edit, { 'First name': 'Ada' }, 'Save changes');
    expect((await store().users.findByLogin(who.username))?.emailVerified).toBe(true);

    const saved = await browser.submit(
      await browser.get('/account/edit'),
      { Email: `new-${who.email}` },
      'Save changes',
    );
    // The new address waits for its code (docs/accounts.md#e-mail-verification); the old one stays.
    expect(saved.location).toBe(`${server.url}/verify-email`);
    const user = await store().users.findByLogin(who.username);
    expect(user).toMatchObject({
      email: who.email,
      emailVerified: true,
      pendingEmail: `new-${who.email}`,
    });
    expect((await browser.get('/account')).text).toMatch(/<dt>Email verified<\/dt><dd>Yes<\/dd>/);
  });

  it('re-renders the edit form with 409 when the new username is taken, changing nothing', async () => {
    const taken = person();
    await signUp(new Browser(server.url), taken);
    const browser = new Browser(server.url);
    const who = person();
    await signUp(browser, who);
    const result = await browser.submit(
      await browser.get('/account/edit'),
      { Username: taken.username.toUpperCase(), 'First name': 'Changed' },
      'Save changes',
    );
    expect(result.status).toBe(409);
    expect(result.text).toMatch(/role="alert"[^>]*>That username is already taken/);
    expect(result.text).toContain('value="Changed"');
    expect(await store().users.findByLogin(who.username)).toMatchObject({ givenName: who.given });

    const invalid = await browser.submit(
      await browser.get('/account/edit'),
      { Username: 'no spaces allowed' },
      'Save changes',
    );
    expect(invalid.status).toBe(400);
    expect(invalid.text).toMatch(/role="alert"[^>]*>Username may hold only/);
  });

  it('deletes the account after the password is typed again; sign-in then fails', async () => {
    const browser = new Browser(server.url);
    const who = person();
    const account = await browser.follow(await signUp(browser, who));
    const id = (await store().users.findByLogin(who.username))!.id;

    const refused = await browser.submit(
      account,
      { Password: 'not my password' },
      'Delete account',
    );
    expect(refused.status).toBe(401);
    expect(refused.text).toMatch(
      /role="alert"[^>]*>Incorrect password: your account was not deleted/,
    );
    expect(await store().users.findById(id)).toBeDefined();

    const deleted = await browser.submit(account, { Password: PASSWORD }, 'Delete account');
    expect(deleted.status).toBe(303);
    expect(deleted.location).toBe(`${server.url}/login?deleted=1`);
    expect(browser.cookies.has(SESSION_COOKIE)).toBe(false);
    expect((await browser.follow(deleted)).text).toContain('Your account has been deleted');

    expect(await store().users.findById(id)).toBeUndefined();
    expect(await store().sessions.listActiveForUser(id, Math.floor(Date.now() / 1000))).toEqual([]);
    expect((await signIn(new Browser(server.url), who.username, PASSWORD)).status).toBe(401);
  });

  it('refuses every form POST without the CSRF token or with a wrong one (403), changing nothing', async () => {
    const browser = new Browser(server.url);
    const who = person();
    await signUp(browser, who);
    const before = await store().users.count();
    const user = await store().users.findByLogin(who.username);

    const attempts: [string, Record<string, string>][] = [
      ['/signup', { username: 'csrf-victim', email: 'csrf@example.com', password: PASSWORD }],
      ['/login', { username: who.username, password: PASSWORD }],
      ['/account/edit', { username: 'hijacked', email: 'evil@example.com' }],
      ['/account/delete', { password: PASSWORD }],
      ['/account/password', { current_password: PASSWORD, new_password: 'hijacked passphrase' }],
      ['/account/apps/revoke', { client_id: 'any' }],
      ['/account/sessions/end-all', {}],
      ['/logout', {}],
    ];
    for (const [path, form] of attempts) {
      for (const token of [undefined, 'forged-token']) {
        const page = await browser.post(path, token ? { ...form, [CSRF_FIELD]: token } : form);
        if (path === '/logout' && token === undefined) {
          // Without a token it is an RP-initiated logout (OpenID RP-Initiated Logout §2): it only asks.
          expect(page.status).toBe(200);
          expect(page.text).toContain('Sign out?');
          continue;
        }
        expect(page.status, `${path} with ${token ?? 'no'} token`).toBe(403);
        expect(page.text).toContain('role="alert"');
      }
    }
    // A token from another browser does not fit this browser's cookie either.
    const other = new Browser(server.url);
    const foreign = await other.get('/login');
    const token = /name="_csrf" value="([^"]+)"/.exec(foreign.text)![1]!;
    expect((await browser.post('/logout', { [CSRF_FIELD]: token })).status).toBe(403);

    expect(await store().users.count()).toBe(before);
    expect(await store().users.findByLogin(who.username)).toEqual(user);
    const account = await browser.get('/account');
    expect(account.status).toBe(200);
    expect(account.text).toContain(`Signed in as <strong>${who.username}</strong>`);
  });

  it('answers a repeated form field with 400', async () => {
    const browser = new Browser(server.url);
    const form = await browser.get('/login');
    const token = /name="_csrf" value="([^"]+)"/.exec(form.text)![1]!;
    const body = new URLSearchParams([
      [CSRF_FIELD, token],
      ['username', 'a'],
      ['username', 'b'],
      ['password', PASSWORD],
    ]);
    const page = await browser.request('/login', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: body.toString(),
    });
    expect(page.status).toBe(400);
    expect(page.text).toContain('username was sent more than once');
  });

  it('returns to a safe return_to after sign-in and sign-up', async () => {
    const who = person();
    const browser = new Browser(server.url);
    const created = await signUp(browser, who, '/account/edit');
    expect(created.location).toBe(`${server.url}/account/edit`);

    const login = await browser.get('/login?return_to=/account/edit%3Fx%3D1&login_hint=someone');
    expect(login.text).toContain('name="return_to" value="/account/edit?x=1"');
    expect(login.text).toContain('value="someone"');
    const done = await browser.submit(
      login,
      { 'Username or email': who.username, Password: PASSWORD },
      'Sign in',
    );
    expect(done.status).toBe(303);
    expect(done.location).toBe(`${server.url}/account/edit?x=1`);
  });

  it.each(['//evil.example', 'https://evil.example', '/\\evil.example', 'javascript:alert(1)'])(
    'ignores the unsafe return_to %s and lands on /account',
    async (target) => {
      const who = person();
      await signUp(new Browser(server.url), who);
      const browser = new Browser(server.url);
      const login = await browser.get(`/login?return_to=${encodeURIComponent(target)}`);
      expect(login.text).not.toContain('name="return_to"');
      expect(login.text).not.toContain('evil.example');

      // Posted directly, as a crafted form would.
      const token = /name="_csrf" value="([^"]+)"/.exec(login.text)![1]!;
      const done = await browser.post('/login', {
        [CSRF_FIELD]: token,
        username: who.username,
        password: PASSWORD,
        return_to: target,
      });
      expect(done.status).toBe(303);
      expect(done.location).toBe(`${server.url}/account`);
    },
  );

  it('sets the session cookie HttpOnly and SameSite=Lax, not Secure on an http issuer', async () => {
    const who = person();
    await signUp(new Browser(server.url), who);
    const done = await signIn(new Browser(server.url), who.username, PASSWORD);
    const cookie = done.headers.getSetCookie().find((c) => c.startsWith(`${SESSION_COOKIE}=`));
    expect(cookie).toBeDefined();
    expect(cookie).toMatch(/; HttpOnly/i);
    expect(cookie).toMatch(/; SameSite=Lax/i);
    expect(cookie).not.toMatch(/; Secure/i);
  });
});

describe('account pages with other settings', () => {
  it('marks the session cookie Secure when the issuer is https', async () => {
    const app = await testApp({ env: { TESSERA_ISSUER: 'https://id.example.com' } });
    try {
      await registerUser(app.tessera, {
        username: 'grace',
        email: 'g@example.com',
        password: PASSWORD,
      });
      const form = await app.inject({ method: 'GET', url: '/login' });
      const csrfCookie = form.cookies.find((c) => c.name === 'tessera_csrf')!;
      expect(csrfCookie.secure).toBe(true);
      const token = /name="_csrf" value="([^"]+)"/.exec(form.body)![1]!;
      const done = await app.inject({
        method: 'POST',
        url: '/login',
        cookies: { tessera_csrf: csrfCookie.value },
        payload: new URLSearchParams({
          [CSRF_FIELD]: token,
          username: 'grace',
          password: PASSWORD,
        }).toString(),
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      expect(done.statusCode).toBe(303);
      const session = done.cookies.find((c) => c.name === SESSION_COOKIE);
      expect(session).toMatchObject({ httpOnly: true, sameSite: 'Lax', secure: true, path: '/' });
    } finally {
      await app.close();
    }
  });

  it('has no sign-up page, and no link to one, when self sign-up is off', async () => {
    const server = await startServer({ env: { TESSERA_SIGNUP_ENABLED: 'false' } });
    try {
      const browser = new Browser(server.url);
      const page = await browser.get('/signup');
      expect(page.status).toBe(404);
      expect(page.headers.get('content-type')).toContain('text/html');
      const login = await browser.get('/login');
      expect(login.status).toBe(200);
      expect(login.text).not.toContain('/signup');
      const token = /name="_csrf" value="([^"]+)"/.exec(login.text)![1]!;
      const post = await browser.post('/signup', {
        [CSRF_FIELD]: token,
        username: 'sneaky',
        email: 'sneaky@example.com',
        password: PASSWORD,
      });
      expect(post.status).toBe(404);
      expect(await server.app.tessera.store.users.count()).toBe(0);
    } finally {
      await server.close();
    }
  });
});
