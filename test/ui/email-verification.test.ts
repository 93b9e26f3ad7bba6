import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { type RunningServer, startServer } from '../helpers/app.js';
import { Browser, type Page } from '../helpers/browser.js';
import { startSmtp, type TestSmtp } from '../helpers/smtp.js';
import { alertOf, frozenDate } from '../throttle/helpers.js';

const PASSWORD = 'correct horse battery';
const time = frozenDate();
let count = 0;
const person = () => {
  count += 1;
  const username = `vera${count}x${Date.now() % 100000}`;
  return { username, email: `${username}@example.com` };
};
const codeIn = (text: string): string => /\b(\d{6})\b/.exec(text)![1]!;
const linkIn = (text: string): string => /\/verify-email\?token=[A-Za-z0-9_-]+/.exec(text)![0];

async function signUp(
  browser: Browser,
  who: { username: string; email: string },
  path = '/signup',
) {
  return browser.submit(
    await browser.get(path),
    { Username: who.username, Email: who.email, Password: PASSWORD },
    'Create account',
  );
}

async function signIn(browser: Browser, login: string, path = '/login'): Promise<Page> {
  const form = await browser.get(path);
  return browser.submit(form, { 'Username or email': login, Password: PASSWORD }, 'Sign in');
}

describe('e-mail verification', () => {
  let smtp: TestSmtp;
  let server: RunningServer;
  let ctx: AppContext;
  beforeAll(async () => {
    smtp = await startSmtp();
    server = await startServer({ env: { TESSERA_SMTP_URL: smtp.url } });
    ctx = server.app.tessera;
  });
  afterAll(async () => {
    await server?.close();
    await smtp?.close();
  });
  const userOf = (login: string) => ctx.store.users.findByLogin(login);

  it('mails a code and a link on sign-up; the code typed on /verify-email verifies the address', async () => {
    const browser = new Browser(server.url);
    const who = person();
    expect((await signUp(browser, who)).status).toBe(303);
    const mail = await smtp.next(who.email);
    expect(mail.text).toContain(`${server.url}/verify-email?token=`);
    expect((await browser.get('/account')).text).toContain('>Verify your email</a>');
    const page = await browser.get('/verify-email');
    expect(page.status).toBe(200);
    expect(page.text).toContain(who.email);
    expect(page.text).toMatch(/spam/);
    const done = await browser.submit(page, { Code: codeIn(mail.text) }, 'Verify');
    expect(done.status).toBe(200);
    expect(done.text).toContain('is verified');
    expect((await userOf(who.username))?.emailVerified).toBe(true);
  });

  it('verifies by the link in one press of a button: opening it spends nothing, and it works once', async () => {
    const who = person();
    await signUp(new Browser(server.url), who);
    const link = linkIn((await smtp.next(who.email)).text);
    // A mail scanner (no cookies) opens the link: nothing happens.
    const scanner = new Browser(server.url);
    const confirm = await scanner.get(link);
    expect(confirm.status).toBe(200);
    expect((await userOf(who.username))?.emailVerified).toBe(false);
    const clicked = new Browser(server.url);
    const done = await clicked.submit(await clicked.get(link), {}, 'Verify');
    expect(done.status).toBe(200);
    expect(done.text).toContain(`<strong>${who.email}</strong> is verified`);
    expect((await userOf(who.username))?.emailVerified).toBe(true);
    const replay = await scanner.submit(confirm, {}, 'Verify');
    expect(replay.status).toBe(400);
    expect(alertOf(replay)).toMatch(/no longer valid/);
  });

  it('counts five tries on the page: the 6th is refused with 429 even when right', async () => {
    const browser = new Browser(server.url);
    const who = person();
    await signUp(browser, who);
    const code = codeIn((await smtp.next(who.email)).text);
    const bad = String((Number(code) + 1) % 1_000_000).padStart(6, '0');
    let page = await browser.get('/verify-email');
    for (let left = 4; left >= 0; left--) {
      page = await browser.submit(page, { Code: bad }, 'Verify');
      expect(page.status).toBe(400);
      if (left > 0) expect(alertOf(page)).toContain(`${left} ${left === 1 ? 'try' : 'tries'} left`);
    }
    page = await browser.submit(page, { Code: code }, 'Verify');
    expect(page.status).toBe(429);
    expect(page.headers.get('retry-after')).toMatch(/^\d+$/);
    expect((await userOf(who.username))?.emailVerified).toBe(false);
  });

  it('refuses every code on the page after ten wrong ones across codes, with 429 and when to try again', async () => {
    const browser = new Browser(server.url);
    const who = person();
    await signUp(browser, who);
    const wrongOf = (code: string) => String((Number(code) + 1) % 1_000_000).padStart(6, '0');
    let code = codeIn((await smtp.next(who.email)).text);
    let page = await browser.get('/verify-email');
    for (let failure = 1; failure <= 10; failure++) {
      if (failure === 6) {
        time.pass(60);
        page = await browser.submit(page, {}, 'Send a new code');
        code = codeIn((await smtp.next(who.email)).text);
      }
      page = await browser.submit(page, { Code: wrongOf(code) }, 'Verify');
      expect(page.status, `failure ${failure}`).toBe(400);
    }
    time.pass(60);
    page = await browser.submit(page, {}, 'Send a new code');
    const right = codeIn((await smtp.next(who.email)).text);
    const refused = await browser.submit(page, { Code: right }, 'Verify');
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBe(86_400 - 120);
    expect(alertOf(refused)).toMatch(/^Too many codes were tried\. Try again in /);
    expect((await userOf(who.username))?.emailVerified).toBe(false);
  });

  it('sends a new code at most once a minute from the page: refused at 59 seconds, sent at 60', async () => {
    const browser = new Browser(server.url);
    const who = person();
    await signUp(browser, who);
    await smtp.next(who.email);
    const page = await browser.get('/verify-email');
    const soon = await browser.submit(page, {}, 'Send a new code');
    expect(soon.status).toBe(429);
    expect(soon.headers.get('retry-after')).toBe('60');
    time.pass(59);
    expect((await browser.submit(page, {}, 'Send a new code')).status).toBe(429);
    time.pass(1);
    const sent = await browser.submit(page, {}, 'Send a new code');
    expect(sent.status).toBe(200);
    expect(sent.text).toContain(`We sent a new code to ${who.email}`);
    const code = codeIn((await smtp.next(who.email)).text);
    expect((await browser.submit(sent, { Code: code }, 'Verify')).text).toContain('is verified');
  });

  it('keeps the old address until the new one is verified, then changes it and tells the old one', async () => {
    const browser = new Browser(server.url);
    const who = person();
    await signUp(browser, who);
    await smtp.next(who.email);
    const next = `new-${who.email}`;
    const saved = await browser.submit(
      await browser.get('/account/edit'),
      { Email: next },
      'Save changes',
    );
    expect(saved.location).toBe(`${server.url}/verify-email`);
    const page = await browser.follow(saved);
    expect(page.text).toContain(`<strong>${next}</strong>`);
    expect(page.text).toContain(`keeps its address, <strong>${who.email}</strong>`);
    const edit = await browser.get('/account/edit');
    expect(edit.text).toContain(`Your email stays <strong>${who.email}</strong>`);
    const account = await browser.get('/account');
    expect(account.text).toContain(`<dt>Email</dt><dd>${who.email}</dd>`);
    expect(account.text).toContain(
      `Your new address <strong>${next}</strong> is used once verified`,
    );
    // The new address is not used: not to sign in, not for the account.
    expect(await userOf(next)).toBeUndefined();
    expect((await userOf(who.email))?.pendingEmail).toBe(next);
    expect((await signIn(new Browser(server.url), who.email)).status).toBe(303);
    expect((await signIn(new Browser(server.url), next)).status).toBe(401);

    const code = codeIn((await smtp.next(next)).text);
    const done = await browser.submit(page, { Code: code }, 'Verify');
    expect(done.text).toContain(`<strong>${next}</strong> is verified`);
    expect(await userOf(next)).toMatchObject({
      email: next,
      emailVerified: true,
      pendingEmail: null,
    });
    expect(await userOf(who.email)).toBeUndefined();
    const notice = await smtp.next(who.email);
    expect(notice.to).toEqual([who.email]);
    const events = await ctx.store.audit.list({ limit: 100 });
    expect(events.some((e) => e.type === 'security.email_changed')).toBe(true);
  });

  it('mails a code and link on POST /api/users', async () => {
    const who = person();
    const res = await fetch(`${server.url}/api/users`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...who, password: PASSWORD }),
    });
    expect(res.status).toBe(201);
    const mail = await smtp.next(who.email);
    const clicked = new Browser(server.url);
    const done = await clicked.submit(await clicked.get(linkIn(mail.text)), {}, 'Verify');
    expect(done.status).toBe(200);
    expect((await userOf(who.username))?.emailVerified).toBe(true);
  });

  async function askForAddress(browser: Browser, address: string) {
    const saved = await browser.submit(
      await browser.get('/account/edit'),
      { Email: address },
      'Save changes',
    );
    expect(saved.location).toBe(`${server.url}/verify-email`);
    return smtp.next(address);
  }

  it('keeps each account its own code for a shared pending address: no account takes over another', async () => {
    const [victim, attacker] = [person(), person()];
    const vb = new Browser(server.url);
    const ab = new Browser(server.url);
    await signUp(vb, victim);
    await signUp(ab, attacker);
    await smtp.next(victim.email);
    await smtp.next(attacker.email);
    const shared = `shared-${victim.email}`;
    const victimMail = await askForAddress(vb, shared);
    // One mail a minute to an address, whoever asks.
    time.pass(60);
    const attackerMail = await askForAddress(ab, shared);
    // Each mail names the account the address would belong to.
    expect(victimMail.text).toContain(`for the account ${victim.username} on`);
    expect(attackerMail.text).toContain(`for the account ${attacker.username} on`);
    const attackerLink = linkIn(attackerMail.text);
    const opened = await new Browser(server.url).get(attackerLink);
    expect(opened.text).toContain(`of the account <strong>${attacker.username}</strong>`);
    // The victim's code still works though the attacker asked later, and verifies the victim.
    const page = await vb.get('/verify-email');
    expect(page.text).toContain(`the address of the account <strong>${victim.username}</strong>`);
    const done = await vb.submit(page, { Code: codeIn(victimMail.text) }, 'Verify');
    expect(done.text).toContain(`<strong>${shared}</strong> is verified`);
    expect((await userOf(shared))?.username).toBe(victim.username);
    // The attacker no longer waits for it; their link is no longer valid.
    expect((await userOf(attacker.username))?.pendingEmail).toBeNull();
    const clicked = new Browser(server.url);
    const refused = await clicked.submit(await clicked.get(attackerLink), {}, 'Verify');
    expect(refused.status).toBe(400);
    expect(alertOf(refused)).toMatch(/no longer valid/);
    expect((await userOf(attacker.username))?.email).toBe(attacker.email);
  });

  it('verifies exactly the account a link was sent for, whoever presses it', async () => {
    const [first, second] = [person(), person()];
    const fb = new Browser(server.url);
    const sb = new Browser(server.url);
    await signUp(fb, first);
    await signUp(sb, second);
    await smtp.next(first.email);
    await smtp.next(second.email);
    const shared = `both-${first.email}`;
    await askForAddress(fb, shared);
    time.pass(60);
    const secondLink = linkIn((await askForAddress(sb, shared)).text);
    // Pressed in the first account's browser: still the second account's link.
    const done = await fb.submit(await fb.get(secondLink), {}, 'Verify');
    expect(done.status).toBe(200);
    expect((await userOf(shared))?.username).toBe(second.username);
    expect((await userOf(first.username))?.pendingEmail).toBeNull();
  });

  it('refuses an address another account took meanwhile with 409, before spending the code or the link', async () => {
    const browser = new Browser(server.url);
    const who = person();
    await signUp(browser, who);
    await smtp.next(who.email);
    const wanted = `wanted-${who.email}`;
    const mail = await askForAddress(browser, wanted);
    // Someone signs up with the address before it is verified.
    const other = { username: `taker${who.username}`, email: wanted };
    // (Its own verification mail waits under the one-a-minute limit of the address.)
    expect((await signUp(new Browser(server.url), other)).status).toBe(303);
    const page = await browser.get('/verify-email');
    const refused = await browser.submit(page, { Code: codeIn(mail.text) }, 'Verify');
    expect(refused.status).toBe(409);
    expect(alertOf(refused)).toContain(`${wanted} is already the address of another account`);
    const user = (await userOf(who.username))!;
    const kept = await ctx.store.emailCodes.find('verify_email', wanted, user.id);
    expect(kept).toMatchObject({ attempts: 0, consumedAt: null });
    const clicked = new Browser(server.url);
    const byLink = await clicked.submit(await clicked.get(linkIn(mail.text)), {}, 'Verify');
    expect(byLink.status).toBe(409);
    expect(alertOf(byLink)).toContain('is already the address of another account');
    expect(
      (await ctx.store.emailCodes.find('verify_email', wanted, user.id))?.consumedAt,
    ).toBeNull();
    expect((await userOf(who.username))?.email).toBe(who.email);
  });
});

describe('TESSERA_REQUIRE_VERIFIED_EMAIL', () => {
  let smtp: TestSmtp;
  let server: RunningServer;
  beforeAll(async () => {
    smtp = await startSmtp();
    server = await startServer({
      env: { TESSERA_SMTP_URL: smtp.url, TESSERA_REQUIRE_VERIFIED_EMAIL: 'true' },
    });
  });
  afterAll(async () => {
    await server?.close();
    await smtp?.close();
  });

  it('holds a sign-up until the address is verified, then starts the session and goes to return_to', async () => {
    const browser = new Browser(server.url);
    const who = person();
    const created = await signUp(browser, who, '/signup?return_to=/account/sessions');
    expect(created.location).toBe(`${server.url}/verify-email`);
    // No session yet.
    expect((await browser.get('/account')).status).toBe(303);
    const page = await browser.follow(created);
    const code = codeIn((await smtp.next(who.email)).text);
    const done = await browser.submit(page, { Code: code }, 'Verify');
    expect(done.location).toBe(`${server.url}/account/sessions`);
    expect((await browser.get('/account')).status).toBe(200);
  });

  it('holds a sign-in of a person whose address is not verified, and mails a code', async () => {
    const who = person();
    await signUp(new Browser(server.url), who);
    await smtp.next(who.email);
    time.pass(60);
    const browser = new Browser(server.url);
    const held = await signIn(browser, who.username, '/login?return_to=/account/edit');
    expect(held.location).toBe(`${server.url}/verify-email`);
    expect((await browser.get('/account')).status).toBe(303);
    const code = codeIn((await smtp.next(who.email)).text);
    const done = await browser.submit(await browser.get('/verify-email'), { Code: code }, 'Verify');
    expect(done.location).toBe(`${server.url}/account/edit`);
    expect((await browser.get('/account')).status).toBe(200);
    // Verified now: the next sign-in goes straight through.
    const again = await signIn(new Browser(server.url), who.username);
    expect(again.location).toBe(`${server.url}/account`);
  });
});

describe('verification links per client address', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({ env: { TESSERA_EMAIL_CODE_VERIFIES_PER_IP: '3' } });
  });
  afterAll(async () => server?.close());

  it('counts links tried from one client address with the codes: the 4th of 3 gets 429', async () => {
    const browser = new Browser(server.url);
    const page = await browser.get(`/verify-email?token=${'x'.repeat(43)}`);
    for (let i = 1; i <= 3; i++) {
      const tried = await browser.submit(page, {}, 'Verify');
      expect(tried.status, `try ${i}`).toBe(400);
      expect(alertOf(tried)).toMatch(/no longer valid/);
    }
    const refused = await browser.submit(page, {}, 'Verify');
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('3600');
    expect(alertOf(refused)).toMatch(/^Too many codes were tried\. Try again in /);
  });
});
