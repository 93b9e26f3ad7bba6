import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SESSION_COOKIE } from '../../src/http/session.js';
import { type RunningServer, startServer } from '../helpers/app.js';
import { makeUser } from '../helpers/oauth.js';
import {
  alertOf,
  BrowserAt,
  expectRetryAfter,
  freshIp,
  frozenDate,
  signInFrom,
} from './helpers.js';

/** Small counts and the default 15-minute lockout, which the tests pass over by moving Date on. */
const LIMITS = {
  TESSERA_TRUST_PROXY: 'loopback',
  TESSERA_SIGNIN_MAX_FAILURES: '3',
  TESSERA_SIGNIN_DELAY_SECONDS: '0',
  TESSERA_SIGNIN_LOCKOUT_SECONDS: '900',
  TESSERA_SIGNIN_ACCOUNT_MAX_FAILURES: '6',
  TESSERA_SIGNIN_IP_MAX_FAILURES: '8',
  TESSERA_SIGNIN_WINDOW_SECONDS: '3600',
};

const WRONG = 'not the password at all';
const time = frozenDate();

describe('sign-in limits', () => {
  let server: RunningServer;
  const ctx = () => server.app.tessera;
  const failures = async (userId: string) =>
    (await ctx().store.audit.list({ limit: 100, userId })).filter((e) =>
      e.type.startsWith('user.login_'),
    );

  beforeAll(async () => {
    server = await startServer({ env: LIMITS });
  });
  afterAll(async () => server.close());

  it('locks a guessing address out of the account with 429 and Retry-After, refuses even the right password, and lets it in after the lockout', async () => {
    const { user, password } = await makeUser(ctx());
    const ip = freshIp();
    for (let i = 0; i < 2; i++) {
      const wrong = await signInFrom(server.url, ip, user.username, WRONG);
      expect(wrong.status).toBe(401);
      expect(alertOf(wrong)).toBe('Incorrect username/email or password');
    }
    const third = await signInFrom(server.url, ip, user.username, WRONG);
    expect(expectRetryAfter(third, 900)).toBe(900);
    expect(alertOf(third)).toBe('Too many failed attempts. Try again in 15 minutes.');

    const right = await signInFrom(server.url, ip, user.username, password);
    expect(expectRetryAfter(right, 900)).toBe(900);
    expect(alertOf(right)).toBe('Too many failed attempts. Try again in 15 minutes.');
    expect(right.headers.get('set-cookie') ?? '').not.toContain(SESSION_COOKIE);

    time.pass(899);
    const late = await signInFrom(server.url, ip, user.username, password);
    expect(expectRetryAfter(late, 1)).toBe(1);
    expect(alertOf(late)).toBe('Too many failed attempts. Try again in 1 second.');
    time.pass(1);
    const after = await signInFrom(server.url, ip, user.username, password);
    expect(after.status).toBe(303);
    expect(after.headers.get('set-cookie') ?? '').toContain(SESSION_COOKIE);
  });

  it('shows the refusal as the sign-in page, with the form and what was typed, never as JSON', async () => {
    const { user } = await makeUser(ctx());
    const ip = freshIp();
    for (let i = 0; i < 3; i++) await signInFrom(server.url, ip, user.username, WRONG);
    const refused = await signInFrom(server.url, ip, user.username, WRONG);
    expectRetryAfter(refused, 900);
    expect(refused.headers.get('content-type')).toMatch(/^text\/html/);
    expect(refused.text).toContain('<h1>Sign in</h1>');
    expect(refused.text).toMatch(/<button type="submit">Sign in<\/button>/);
    expect(refused.text).toContain(`value="${user.username}"`);
    expect(refused.text).toContain('aria-describedby="form-error"');
  });

  it('keeps the lockout to the guessing address: the person signs in from elsewhere', async () => {
    const { user, password } = await makeUser(ctx());
    const attacker = freshIp();
    for (let i = 0; i < 3; i++) await signInFrom(server.url, attacker, user.username, WRONG);
    expect((await signInFrom(server.url, attacker, user.username, password)).status).toBe(429);
    expect((await signInFrom(server.url, freshIp(), user.username, password)).status).toBe(303);
  });

  it('starts the count again after the right password', async () => {
    const { user, password } = await makeUser(ctx());
    const ip = freshIp();
    for (let i = 0; i < 2; i++) {
      expect((await signInFrom(server.url, ip, user.username, WRONG)).status).toBe(401);
    }
    expect((await signInFrom(server.url, ip, user.username, password)).status).toBe(303);
    for (let i = 0; i < 2; i++) {
      expect((await signInFrom(server.url, ip, user.username, WRONG)).status).toBe(401);
    }
    expect((await signInFrom(server.url, ip, user.username, WRONG)).status).toBe(429);
  });

  it('counts the username in any case and the e-mail address as one account', async () => {
    const { user, password } = await makeUser(ctx());
    const ip = freshIp();
    expect((await signInFrom(server.url, ip, user.username, WRONG)).status).toBe(401);
    expect((await signInFrom(server.url, ip, user.username.toUpperCase(), WRONG)).status).toBe(401);
    expect((await signInFrom(server.url, ip, user.email, WRONG)).status).toBe(429);
    expect((await signInFrom(server.url, ip, user.username, password)).status).toBe(429);
  });

  it('limits guesses at logins that name no account the same way, so a lockout does not tell which exist', async () => {
    const ip = freshIp();
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      statuses.push((await signInFrom(server.url, ip, 'Nobody-Here', WRONG)).status);
    }
    expect(statuses).toEqual([401, 401, 429, 429]);
  });

  it('locks the account from everywhere once guesses from many addresses reach the account ceiling, for the lockout only', async () => {
    const { user, password } = await makeUser(ctx());
    // Two from each of three addresses: under the limit of each, six for the account.
    const statuses: number[] = [];
    for (const ip of [freshIp(), freshIp(), freshIp()]) {
      for (let i = 0; i < 2; i++) {
        statuses.push((await signInFrom(server.url, ip, user.username, WRONG)).status);
      }
    }
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
    const elsewhere = await signInFrom(server.url, freshIp(), user.username, password);
    expect(expectRetryAfter(elsewhere, 900)).toBe(900);
    time.pass(900);
    expect((await signInFrom(server.url, freshIp(), user.username, password)).status).toBe(303);
    const locked = (await failures(user.id)).filter((e) => e.type === 'user.login_locked');
    expect(locked.map((e) => e.details?.scope)).toEqual(['account']);
  });

  it('lets the person keep signing in from an address they signed in from before while the whole account is locked', async () => {
    const { user, password } = await makeUser(ctx());
    const home = freshIp();
    expect((await signInFrom(server.url, home, user.username, password)).status).toBe(303);
    for (const ip of [freshIp(), freshIp(), freshIp()]) {
      for (let i = 0; i < 2; i++) await signInFrom(server.url, ip, user.username, WRONG);
    }
    expect((await signInFrom(server.url, freshIp(), user.username, password)).status).toBe(429);
    // A typo at home is a failure there, not a refusal; and the right password gets in.
    expect((await signInFrom(server.url, home, user.username, WRONG)).status).toBe(401);
    expect((await signInFrom(server.url, home, user.username, password)).status).toBe(303);
  });

  it('locks one address out of every account once its guesses across accounts reach the address ceiling', async () => {
    const sprayer = freshIp();
    const people = await Promise.all(Array.from({ length: 9 }, () => makeUser(ctx())));
    const statuses: number[] = [];
    for (const { user } of people.slice(0, 8)) {
      statuses.push((await signInFrom(server.url, sprayer, user.username, WRONG)).status);
    }
    expect(statuses).toEqual([401, 401, 401, 401, 401, 401, 401, 429]);
    const last = people[8]!;
    expectRetryAfter(await signInFrom(server.url, sprayer, last.user.username, last.password), 900);
    expect(
      (await signInFrom(server.url, freshIp(), last.user.username, last.password)).status,
    ).toBe(303);
  });

  it('lets no more than the limit of parallel guesses through: attempts count from when they begin', async () => {
    const { user, password } = await makeUser(ctx());
    const ip = freshIp();
    const browsers = Array.from({ length: 12 }, () => new BrowserAt(server.url, ip));
    const forms = await Promise.all(browsers.map((b) => b.get('/login')));
    const pages = await Promise.all(
      browsers.map((b, i) =>
        b.submit(forms[i]!, { 'Username or email': user.username, Password: WRONG }, 'Sign in'),
      ),
    );
    const statuses = pages.map((p) => p.status).sort();
    // Three passwords checked (the third wrong one begins the lockout); the rest refused unchecked.
    expect(statuses).toEqual([...Array(2).fill(401), ...Array(10).fill(429)]);
    expect((await signInFrom(server.url, ip, user.username, password)).status).toBe(429);
  });
});

describe('sign-in waits', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({
      env: {
        ...LIMITS,
        TESSERA_SIGNIN_MAX_FAILURES: '10',
        TESSERA_SIGNIN_DELAY_AFTER: '1',
        TESSERA_SIGNIN_DELAY_SECONDS: '60',
        TESSERA_SIGNIN_LOCKOUT_SECONDS: '3600',
        TESSERA_SIGNIN_ACCOUNT_MAX_FAILURES: '100',
      },
    });
  });
  afterAll(async () => server.close());

  it('makes each attempt after TESSERA_SIGNIN_DELAY_AFTER failures wait twice as long as the one before, the right password too', async () => {
    const { user, password } = await makeUser(server.app.tessera);
    const ip = freshIp();
    const attempt = (secret: string) => signInFrom(server.url, ip, user.username, secret);

    expect((await attempt(WRONG)).status).toBe(401);
    expect(expectRetryAfter(await attempt(password), 60)).toBe(60);
    time.pass(60);
    expect((await attempt(WRONG)).status).toBe(401);
    const second = await attempt(WRONG);
    expect(expectRetryAfter(second, 120)).toBe(120);
    expect(alertOf(second)).toBe('Too many failed attempts. Try again in 2 minutes.');
    time.pass(119);
    expect(expectRetryAfter(await attempt(password), 1)).toBe(1);
    time.pass(1);
    expect((await attempt(password)).status).toBe(303);
  });
});

describe('audit events of failed sign-ins', () => {
  let server: RunningServer;
  const ctx = () => server.app.tessera;
  const failures = async (userId: string) =>
    (await ctx().store.audit.list({ limit: 100, userId })).filter((e) =>
      e.type.startsWith('user.login_'),
    );
  beforeAll(async () => {
    // A lockout longer than the test, so that the guessing below meets one lockout only.
    server = await startServer({
      env: {
        ...LIMITS,
        TESSERA_SIGNIN_LOCKOUT_SECONDS: '60',
        TESSERA_SIGNIN_ACCOUNT_MAX_FAILURES: '1000',
        TESSERA_SIGNIN_IP_MAX_FAILURES: '1000',
      },
    });
  });
  afterAll(async () => server.close());

  it('writes one event for the first failure on an account and one per lockout, however long the guessing goes on', async () => {
    const { user } = await makeUser(ctx());
    const ip = freshIp();
    for (let i = 0; i < 20; i++) await signInFrom(server.url, ip, user.username, WRONG);
    const events = await failures(user.id);
    expect(events.map((e) => e.type).sort()).toEqual(['user.login_failed', 'user.login_locked']);
    const locked = events.find((e) => e.type === 'user.login_locked')!;
    expect(locked.ip).toBe(ip);
    expect(locked.details).toMatchObject({
      purpose: 'sign_in',
      login: user.username,
      scope: 'account_ip',
      failures: 3,
      seconds: 60,
    });
  });

  it('writes one event for many failures on one account from many addresses within the window', async () => {
    const { user } = await makeUser(ctx());
    for (let i = 0; i < 25; i++) {
      expect((await signInFrom(server.url, freshIp(), user.email, WRONG)).status).toBe(401);
    }
    const events = await failures(user.id);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      type: 'user.login_failed',
      userId: user.id,
      details: { purpose: 'sign_in', login: user.email },
    });
  });

  it('writes one event per address for logins that name no account, without what was typed', async () => {
    const ip = freshIp();
    const typed = Array.from({ length: 30 }, (_, i) => `nobody-${i}-Sup3rSecret!`);
    for (const login of typed) {
      expect((await signInFrom(server.url, ip, login, WRONG)).status).toBe(401);
    }
    const all = await ctx().store.audit.list({ limit: 1000 });
    const fromIp = all.filter((e) => e.ip === ip);
    expect(fromIp.filter((e) => e.type === 'user.login_failed')).toHaveLength(1);
    const text = JSON.stringify(fromIp);
    for (const login of typed) expect(text).not.toContain(login);
  });
});
