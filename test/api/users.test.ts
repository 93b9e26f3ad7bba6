import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testApp } from '../helpers/app.js';
import { storeFactories, type TestStore } from '../helpers/stores.js';

const PASSWORD = 'correct horse battery';

let counter = 0;
const unique = (prefix: string) => `${prefix}${++counter}`;

describe.each(storeFactories())('POST /api/users on $name', (factory) => {
  let app: FastifyInstance;
  let db: TestStore;

  beforeAll(async () => {
    db = await factory.open();
    // Every case signs up from one address; the sign-up limit has its own tests (test/throttle/).
    app = await testApp({ store: db.store, env: { TESSERA_SIGNUP_MAX_PER_IP: '1000' } });
  });
  afterAll(async () => {
    await app.close();
    await db.cleanup();
  });

  const post = (payload: unknown, headers: Record<string, string> = {}) =>
    app.inject({
      method: 'POST',
      url: '/api/users',
      headers: { 'content-type': 'application/json', ...headers },
      payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
    });

  /** Each answer is a 4xx naming the problem; never a 500. */
  function expectProblem(res: Awaited<ReturnType<typeof post>>, status: number, mention: RegExp) {
    expect(res.statusCode).toBe(status);
    const body = res.json() as { error: string; error_description: string; field?: string };
    expect(body.error).toBeTypeOf('string');
    expect(body.error_description).toMatch(mention);
    return body;
  }

  it('creates the account (201) with an argon2id hash and never returns the hash', async () => {
    const username = unique('lin');
    const res = await post({
      username,
      email: `${username}@example.com`,
      password: PASSWORD,
      given_name: 'Lin',
      family_name: 'Wei',
      phone_number: '+86 10 1234 5678',
      extra_field: 'ignored',
    });
    expect(res.statusCode).toBe(201);
    expect(res.headers['cache-control']).toBe('no-store');
    const body = res.json();
    expect(body).toEqual({
      id: expect.any(String),
      sub: body.id,
      username,
      email: `${username}@example.com`,
      given_name: 'Lin',
      family_name: 'Wei',
      phone_number: '+86 10 1234 5678',
      email_verified: false,
    });
    expect(res.body).not.toContain('argon2');

    const stored = await db.store.users.findById(body.id);
    expect(stored?.passwordHash).toMatch(/^\$argon2id\$/);
    expect(stored).toMatchObject({ username, givenName: 'Lin', role: 'user', twoFactor: false });
  });

  it("accepts seed 002's firstname, lastname and phone", async () => {
    const username = unique('seed');
    const res = await post({
      firstname: 'Sam',
      lastname: 'Seed',
      username,
      phone: '0123 456',
      email: `${username}@example.com`,
      password: PASSWORD,
    });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({
      given_name: 'Sam',
      family_name: 'Seed',
      phone_number: '0123 456',
    });
  });

  it('names the alias the client sent when its value breaks a rule', async () => {
    const username = unique('alias');
    const res = await post({
      username,
      email: `${username}@example.com`,
      password: PASSWORD,
      phone: 'call me',
    });
    expect(expectProblem(res, 400, /^phone may hold only/).field).toBe('phone');
    expect(await db.store.users.findByLogin(username)).toBeUndefined();
  });

  it('refuses malformed JSON with 400 saying so', async () => {
    const before = await db.store.users.count();
    expectProblem(await post('{"username": "x",'), 400, /not valid JSON/);
    expectProblem(await post(''), 400, /JSON body is empty/);
    expectProblem(await post('[]'), 400, /body/);
    expect(await db.store.users.count()).toBe(before);
  });

  it('refuses a body that is not JSON with 415', async () => {
    const username = unique('form');
    const form = `username=${username}&email=${username}%40example.com&password=${encodeURIComponent(PASSWORD)}`;
    for (const type of ['application/x-www-form-urlencoded', 'text/plain', 'multipart/form-data']) {
      expectProblem(await post(form, { 'content-type': type }), 415, /application\/json/);
    }
    expect(await db.store.users.findByLogin(username)).toBeUndefined();
  });

  it('refuses a body over 64 KiB with 413', async () => {
    const res = await post({
      username: unique('big'),
      email: 'big@example.com',
      password: PASSWORD,
      padding: 'x'.repeat(70 * 1024),
    });
    expectProblem(res, 413, /64 KiB/);
  });

  it.each(['username', 'email', 'password'])(
    'refuses a missing %s with 400 naming it',
    async (field) => {
      const username = unique('missing');
      const body: Record<string, string> = {
        username,
        email: `${username}@example.com`,
        password: PASSWORD,
      };
      delete body[field];
      const problem = expectProblem(await post(body), 400, new RegExp(field));
      expect(problem.field).toBe(field);
      expect(await db.store.users.count(username)).toBe(0);
    },
  );

  it.each([
    ['username', 65],
    ['email', 255],
    ['password', 257],
    ['given_name', 101],
    ['lastname', 101],
    ['phone_number', 33],
  ])('refuses an over-long %s with 400 naming it', async (field, length) => {
    const username = unique('long');
    const body: Record<string, string> = {
      username,
      email: `${username}@example.com`,
      password: PASSWORD,
      [field]: field === 'email' ? `${'a'.repeat(length - 12)}@example.com` : 'a'.repeat(length),
    };
    const problem = expectProblem(await post(body), 400, new RegExp(`"${field}".*more than`));
    expect(problem.field).toBe(field);
  });

  it('refuses values that break the account rules with 400 naming the field', async () => {
    expect(
      expectProblem(
        await post({ username: 'ab', email: 'ab@example.com', password: PASSWORD }),
        400,
        /username/,
      ).field,
    ).toBe('username');
    expect(
      expectProblem(
        await post({ username: unique('e'), email: 'nope', password: PASSWORD }),
        400,
        /email/,
      ).field,
    ).toBe('email');
    expect(
      expectProblem(
        await post({ username: unique('p'), email: 'p@example.com', password: 'short' }),
        400,
        /password/,
      ).field,
    ).toBe('password');
  });

  it('refuses a password the password rule refuses with 400 invalid_request naming it, creating nothing', async () => {
    const username = unique('weak_password_');
    const email = `${username}@example.com`;
    for (const [password, mention] of [
      ['password', /^password must be at least 10 characters$/],
      ['12345678', /^password must be at least 10 characters$/],
      [' '.repeat(8), /^password must not be only spaces$/],
      [' '.repeat(12), /^password must not be only spaces$/],
      [username.toUpperCase(), /^password must not be the same as the username or email address$/],
      [email, /^password must not be the same as the username or email address$/],
      ['qwertyuiop', /^This password is one of the most commonly used passwords/],
      ['Basketball', /^This password is one of the most commonly used passwords/],
    ] as const) {
      const res = await post({ username, email, password });
      const body = expectProblem(res, 400, mention);
      expect(body, password).toMatchObject({ error: 'invalid_request', field: 'password' });
    }
    expect(await db.store.users.findByLogin(username)).toBeUndefined();
  });

  it('counts password length in characters: 256 of any width are accepted, 257 are not', async () => {
    const username = unique('wide');
    const ok = await post({
      username,
      email: `${username}@example.com`,
      password: '𝔸'.repeat(256),
    });
    expect(ok.statusCode).toBe(201);
    const long = await post({
      username: unique('wider'),
      email: `${username}-2@example.com`,
      password: '𝔸'.repeat(257),
    });
    expect(expectProblem(long, 400, /password/).field).toBe('password');
  });

  it('stores the e-mail address normalised and refuses another form of it with 409', async () => {
    const name = unique('Mail');
    const created = await post({
      username: name,
      email: `${name}@EXAMPLE.com`,
      password: PASSWORD,
    });
    expect(created.statusCode).toBe(201);
    expect(created.json().email).toBe(`${name}@example.com`);
    const fullwidth = `${name.toLowerCase()}@example.com`.replace(/[!-~]/g, (c) =>
      String.fromCharCode(c.charCodeAt(0) + 0xfee0),
    );
    for (const email of [`${name.toLowerCase()}@example.com`, fullwidth]) {
      const clash = await post({ username: unique('clash'), email, password: PASSWORD });
      expect(clash.statusCode, email).toBe(409);
      expect(clash.json()).toMatchObject({ error: 'conflict', field: 'email' });
    }
    const control = await post({
      username: unique('ctl'),
      email: `${name}\u200b@example.org`,
      password: PASSWORD,
    });
    expect(expectProblem(control, 400, /control or invisible characters/).field).toBe('email');
  });

  it('answers a duplicate username or e-mail with 409, leaving the existing account as it was', async () => {
    const username = unique('dup');
    const email = `${username}@example.com`;
    const created = await post({ username, email, password: PASSWORD, given_name: 'First' });
    expect(created.statusCode).toBe(201);
    const original = await db.store.users.findById(created.json().id);
    const count = await db.store.users.count();

    const sameName = await post({
      username: username.toUpperCase(),
      email: `other-${email}`,
      password: 'another password',
      given_name: 'Second',
    });
    expect(sameName.statusCode).toBe(409);
    expect(sameName.json()).toEqual({
      error: 'conflict',
      error_description: 'username is already taken',
      field: 'username',
    });

    const sameEmail = await post({
      username: unique('other'),
      email: email.toUpperCase(),
      password: 'another password',
    });
    expect(sameEmail.statusCode).toBe(409);
    expect(sameEmail.json()).toEqual({
      error: 'conflict',
      error_description: 'email is already taken',
      field: 'email',
    });

    expect(await db.store.users.count()).toBe(count);
    expect(await db.store.users.findById(original!.id)).toEqual(original);
  });
});

describe('POST /api/users with self sign-up off', () => {
  it('answers 403 forbidden and creates nothing', async () => {
    const app = await testApp({ env: { TESSERA_SIGNUP_ENABLED: 'false' } });
    try {
      const res = await app.inject({
        method: 'POST',
        url: '/api/users',
        payload: { username: 'nobody', email: 'nobody@example.com', password: PASSWORD },
      });
      expect(res.statusCode).toBe(403);
      expect(res.json()).toEqual({
        error: 'forbidden',
        error_description: 'self sign-up is turned off',
      });
      expect(await app.tessera.store.users.count()).toBe(0);
    } finally {
      await app.close();
    }
  });
});
