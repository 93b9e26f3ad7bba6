import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { hashPassword, verifyPassword } from '../../src/domain/passwords.js';
import { type RunningServer, startServer } from '../helpers/app.js';
import { Browser } from '../helpers/browser.js';
import { makeUser, signInBrowser } from '../helpers/oauth.js';

const CHEAP = { memoryCost: 8192, timeCost: 2, parallelism: 1 };

describe('argon2id parameters changed: passwords re-hashed at sign-in', () => {
  let server: RunningServer;
  let ctx: AppContext;

  beforeAll(async () => {
    // The defaults: TESSERA_ARGON2_MEMORY_KIB=19456, TIME_COST=2, PARALLELISM=1.
    server = await startServer();
    ctx = server.app.tessera;
  });
  afterAll(async () => server.close());

  async function signIn(login: string, password: string) {
    const browser = new Browser(server.url);
    const form = await browser.get('/login');
    const page = await browser.submit(
      form,
      { 'Username or email': login, Password: password },
      'Sign in',
    );
    return { browser, page };
  }

  it('re-hashes a password stored with m=8192 as m=19456, keeping other sessions and the account as it was', async () => {
    const { user, password } = await makeUser(ctx);
    const old = await hashPassword(password, CHEAP);
    expect(old).toMatch(/^\$argon2id\$v=19\$m=8192,t=2,p=1\$/);
    const before = await ctx.store.users.update(user.id, { passwordHash: old }, user.updatedAt);
    const elsewhere = new Browser(server.url);
    await signInBrowser(ctx, elsewhere, user);

    const { browser, page } = await signIn(user.username, password);
    expect(page.status).toBe(303);
    // Signed in: the session was made under the new hash (the guard held).
    expect((await browser.get('/account')).status).toBe(200);

    const after = await ctx.store.users.findById(user.id);
    expect(after?.passwordHash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(await verifyPassword(after!.passwordHash, password)).toBe(true);
    expect(after?.updatedAt).toBe(before?.updatedAt);
    // Not a password change: the other session lives on, and nothing says the password changed.
    expect((await elsewhere.get('/account')).status).toBe(200);
    const events = await ctx.store.audit.list({ userId: user.id, limit: 50 });
    expect(events.map((e) => e.type)).not.toContain('security.password_changed');
    expect(events.map((e) => e.type)).not.toContain('session.ended_all');
  });

  it('writes nothing when the stored hash has the configured parameters', async () => {
    const { user, password } = await makeUser(ctx);
    const stored = (await ctx.store.users.findById(user.id))!.passwordHash;
    expect(stored).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect((await signIn(user.email, password)).page.status).toBe(303);
    expect((await ctx.store.users.findById(user.id))!.passwordHash).toBe(stored);
  });

  it('does not re-hash on a wrong password', async () => {
    const { user, password } = await makeUser(ctx);
    const old = await hashPassword(password, CHEAP);
    await ctx.store.users.update(user.id, { passwordHash: old }, user.updatedAt);
    expect((await signIn(user.username, `${password}?`)).page.status).toBe(401);
    expect((await ctx.store.users.findById(user.id))!.passwordHash).toBe(old);
  });
});

describe('argon2id parameters set lower than a stored hash', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({ env: { TESSERA_ARGON2_MEMORY_KIB: '8192' } });
  });
  afterAll(async () => server.close());

  it('hashes new passwords with the configured parameters and re-hashes older ones to them', async () => {
    const ctx = server.app.tessera;
    const { user, password } = await makeUser(ctx);
    expect(user.passwordHash).toMatch(/^\$argon2id\$v=19\$m=8192,t=2,p=1\$/);
    await ctx.store.users.update(user.id, { passwordHash: await hashPassword(password) }, 0);
    const browser = new Browser(server.url);
    const form = await browser.get('/login');
    const page = await browser.submit(
      form,
      { 'Username or email': user.username, Password: password },
      'Sign in',
    );
    expect(page.status).toBe(303);
    expect((await ctx.store.users.findById(user.id))!.passwordHash).toMatch(/\$m=8192,t=2,p=1\$/);
  });
});
