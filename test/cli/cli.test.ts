import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '../../src/lib/hash.js';
import { openStore } from '../../src/store/kysely/index.js';
import { CLI } from '../helpers/cli.js';
import { authenticate } from '../helpers/passwords.js';
import { relay } from '../helpers/tcp-proxy.js';
import { startTessera } from '../helpers/tessera-process.js';
import { newSession } from '../store/fixtures.js';

const run = promisify(execFile);

/** The CLI as a person runs it: a separate process on the configuration in the environment. */
describe('tessera CLI', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tessera-cli-'));
    env = {
      ...process.env,
      DATABASE_URL: `sqlite:${join(dir, 'cli.sqlite')}`,
      TESSERA_DATA_DIR: dir,
      LOG_LEVEL: 'silent',
      NODE_ENV: 'test',
    };
    delete env.TESSERA_SECRET;
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function tessera(args: string[], extraEnv: NodeJS.ProcessEnv = {}) {
    try {
      const { stdout, stderr } = await run('node', [...CLI, ...args], {
        env: { ...env, ...extraEnv },
      });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const e = error as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  }

  /** The CLI with `input` on its standard input, as `echo … | tessera …` would give it. */
  function tesseraWithInput(args: string[], input: string) {
    return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn('node', [...CLI, ...args], { env });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk) => (stdout += chunk));
      child.stderr.on('data', (chunk) => (stderr += chunk));
      child.on('close', (code) => resolve({ code, stdout, stderr }));
      child.stdin.end(input);
    });
  }

  const withStore = async <T>(
    work: (store: Awaited<ReturnType<typeof openStore>>) => Promise<T>,
  ) => {
    const store = await openStore({ dialect: 'sqlite', path: join(dir, 'cli.sqlite') });
    try {
      return await work(store);
    } finally {
      await store.close();
    }
  };

  it('migrate applies the migrations, then finds nothing to do', async () => {
    const first = await tessera(['migrate', '--json']);
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ status: 'ok', database: 'sqlite' });
    expect(JSON.parse(first.stdout).applied).toContain('001_initial');
    const again = await tessera(['migrate']);
    expect(again.stdout).toContain('up to date');
  });

  it('user create makes an account that can sign in, in text and JSON', async () => {
    const text = await tessera([
      'user',
      'create',
      '--username',
      'alice',
      '--email',
      'alice@example.com',
      '--password',
      'correct horse battery',
      '--given-name',
      'Alice',
      '--role',
      'admin',
    ]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('Created user alice');
    const json = await tessera([
      'user',
      'create',
      '--username',
      'bob',
      '--email',
      'bob@example.com',
      '--password',
      'another good password',
      '--phone',
      '+44 20 7946 0000',
      '--json',
    ]);
    expect(JSON.parse(json.stdout)).toMatchObject({
      username: 'bob',
      email: 'bob@example.com',
      role: 'user',
    });
    await withStore(async (store) => {
      const alice = await store.users.findByLogin('alice');
      // CLI-made accounts are unverified unless --email-verified says otherwise.
      expect(alice).toMatchObject({ role: 'admin', givenName: 'Alice', emailVerified: false });
      expect(alice!.passwordHash).toMatch(/^\$argon2id\$/);
      const ctx = { store } as Parameters<typeof authenticate>[0];
      expect(await authenticate(ctx, 'alice@example.com', 'correct horse battery')).toBeDefined();
    });
  });

  it('user create refuses a duplicate with one clear line and exit code 1', async () => {
    const dup = await tessera([
      'user',
      'create',
      '--username',
      'alice',
      '--email',
      'other@example.com',
      '--password',
      'whatever password',
    ]);
    expect(dup.code).toBe(1);
    expect(dup.stderr.trim()).toBe('tessera: username "alice" is already taken');
    const json = await tessera([
      'user',
      'create',
      '--username',
      'carol',
      '--email',
      'ALICE@example.com',
      '--password',
      'whatever password',
      '--json',
    ]);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toEqual({
      error: 'conflict',
      message: 'email "ALICE@example.com" is already taken',
    });
  });

  it('user create explains a missing option', async () => {
    const res = await tessera(['user', 'create', '--username', 'x']);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('--email is required');
  });

  it('user create refuses a weak password with one line naming the rule, and reads one from stdin', async () => {
    const create = (password: string) =>
      tessera([
        'user',
        'create',
        '--username',
        'weakling',
        '--email',
        'w@example.com',
        '--password',
        password,
      ]);
    const short = await create('password');
    expect(short.code).toBe(1);
    expect(short.stderr).toBe('tessera: password must be at least 10 characters\n');
    const common = await create('1234567890');
    expect(common.stderr).toMatch(
      /^tessera: This password is one of the most commonly used passwords[^\n]*\n$/,
    );
    expect((await create('w@example.com')).stderr).toBe(
      'tessera: password must not be the same as the username or email address\n',
    );
    const piped = await tesseraWithInput(
      ['user', 'create', '--username', 'weakling', '--email', 'w@example.com', '--password-stdin'],
      'kept out of the shell history\n',
    );
    expect(piped.code).toBe(0);
    await withStore(async (store) => {
      const ctx = { store } as Parameters<typeof authenticate>[0];
      expect(await authenticate(ctx, 'weakling', 'kept out of the shell history')).toBeDefined();
    });
  });

  it('user set-password sets it by --username or --id, from stdin too, ending every session', async () => {
    const now = Math.floor(Date.now() / 1000);
    const alice = await withStore(async (store) => {
      const user = (await store.users.findByLogin('alice'))!;
      for (let i = 0; i < 2; i++) {
        await store.sessions.create(
          newSession(user.id, { createdAt: now, lastSeenAt: now, expiresAt: now + 3600 }),
        );
      }
      return user;
    });
    const text = await tessera([
      'user',
      'set-password',
      '--username',
      'ALICE',
      '--password',
      'a brand new passphrase',
    ]);
    expect(text.code).toBe(0);
    expect(text.stdout).toBe('Password set for alice; 2 session(s) ended.\n');
    await withStore(async (store) => {
      const ctx = { store } as Parameters<typeof authenticate>[0];
      expect(await authenticate(ctx, 'alice', 'correct horse battery')).toBeUndefined();
      expect((await authenticate(ctx, 'alice', 'a brand new passphrase'))?.id).toBe(alice.id);
      expect(await store.sessions.listActiveForUser(alice.id, now)).toEqual([]);
      const [event] = await store.audit.list({ limit: 1, userId: alice.id });
      expect(event).toMatchObject({
        type: 'security.password_changed',
        details: { by: 'cli', sessions_ended: 2 },
      });
    });

    const piped = await tesseraWithInput(
      ['user', 'set-password', '--id', alice.id, '--password-stdin', '--json'],
      'typed, not in history\r\n',
    );
    expect(piped.code).toBe(0);
    expect(JSON.parse(piped.stdout)).toEqual({
      id: alice.id,
      username: 'alice',
      sessions_ended: 0,
    });
    await withStore(async (store) => {
      const ctx = { store } as Parameters<typeof authenticate>[0];
      expect((await authenticate(ctx, 'alice', 'typed, not in history'))?.id).toBe(alice.id);
    });
  });

  it('user set-password refuses a weak password or an unknown person in one line', async () => {
    const set = (...args: string[]) => tessera(['user', 'set-password', ...args]);
    const weak = await set('--username', 'alice', '--password', 'alice@example.com');
    expect(weak.code).toBe(1);
    expect(weak.stderr).toBe(
      'tessera: password must not be the same as the username or email address\n',
    );
    const common = await set('--username', 'alice', '--password', 'qwertyuiop', '--json');
    expect(JSON.parse(common.stdout)).toMatchObject({
      error: 'invalid',
      message: expect.stringMatching(/^This password is one of the most commonly used passwords/),
    });
    const blank = await tesseraWithInput(
      ['user', 'set-password', '--username', 'alice', '--password-stdin'],
      '\n',
    );
    expect(blank.stderr).toBe('tessera: password is required\n');
    expect((await set('--username', 'nobody', '--password', 'a fine passphrase')).stderr).toBe(
      'tessera: no user with username "nobody"\n',
    );
    // --username is the username, not an e-mail address.
    expect(
      (await set('--username', 'alice@example.com', '--password', 'a fine passphrase')).stderr,
    ).toBe('tessera: no user with username "alice@example.com"\n');
  });

  it('user set-password explains unclear options in one line', async () => {
    const set = (...args: string[]) => tessera(['user', 'set-password', ...args]);
    for (const args of [
      ['--password', 'a fine passphrase'],
      ['--username', 'alice', '--id', 'x', '--password', 'a fine passphrase'],
      ['--username', 'alice', '--password', 'a fine passphrase', '--password-stdin'],
    ]) {
      const res = await set(...args);
      expect(res.code, args.join(' ')).toBe(1);
      expect(res.stderr).toMatch(/^tessera: .*(--username or --id|--password).*\n$/);
    }
    await withStore(async (store) => {
      const ctx = { store } as Parameters<typeof authenticate>[0];
      expect(await authenticate(ctx, 'alice', 'typed, not in history')).toBeDefined();
    });
  });

  let clientId: string;
  it('client create prints the id and the secret once (text), and registers options (JSON)', async () => {
    const text = await tessera([
      'client',
      'create',
      '--name',
      'My app',
      '--redirect-uri',
      'http://localhost:3000/callback',
      '--redirect-uri',
      'https://app.example.com/cb',
    ]);
    expect(text.code).toBe(0);
    const id = /client_id:\s+(\S+)/.exec(text.stdout)![1]!;
    const secret = /client_secret:\s+(\S+)/.exec(text.stdout)![1]!;
    expect(text.stdout).toContain('shown only now');
    await withStore(async (store) => {
      const client = await store.clients.findById(id);
      expect(client!.redirectUris).toEqual([
        'http://localhost:3000/callback',
        'https://app.example.com/cb',
      ]);
      expect(client!.secretHash).toBe(sha256(secret));
    });

    const json = await tessera([
      'client',
      'create',
      '--name',
      'Service',
      '--grant-types',
      'client_credentials',
      '--scopes',
      'api:read api:write',
      '--auth-method',
      'client_secret_post',
      '--id-token-alg',
      'ES256',
      '--opaque-access-tokens',
      '--dpop-bound-access-tokens',
      '--json',
    ]);
    expect(json.code).toBe(0);
    const body = JSON.parse(json.stdout);
    expect(body).toMatchObject({
      client_name: 'Service',
      grant_types: ['client_credentials'],
      scope: 'api:read api:write',
      token_endpoint_auth_method: 'client_secret_post',
      id_token_signed_response_alg: 'ES256',
      access_token_format: 'opaque',
      dpop_bound_access_tokens: true,
    });
    expect(body.client_secret.length).toBeGreaterThanOrEqual(43);
    clientId = body.client_id;

    const spa = JSON.parse(
      (
        await tessera([
          'client',
          'create',
          '--name',
          'SPA',
          '--public',
          '--redirect-uri',
          'http://localhost:5173/cb',
          '--post-logout-redirect-uri',
          'http://localhost:5173/',
          '--json',
        ])
      ).stdout,
    );
    expect(spa).toMatchObject({
      client_type: 'public',
      token_endpoint_auth_method: 'none',
      post_logout_redirect_uris: ['http://localhost:5173/'],
    });
    expect(spa.client_secret).toBeUndefined();
  });

  it('client create registers a private_key_jwt service account from a JWKS file', async () => {
    const { generateKeyPair, exportJWK } = await import('jose');
    const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
    const file = join(dir, 'jwks.json');
    writeFileSync(file, JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k1' }] }));
    // A database of its own: the tests after this one count the clients of the shared one.
    const own = { DATABASE_URL: `sqlite:${join(dir, 'keys.sqlite')}` };
    const made = await tessera(
      [
        'client',
        'create',
        '--name',
        'Keyed service',
        '--grant-types',
        'client_credentials,urn:ietf:params:oauth:grant-type:jwt-bearer',
        '--scopes',
        'api:read',
        '--token-endpoint-auth-method',
        'private_key_jwt',
        '--jwks-file',
        file,
        '--jwt-bearer-subjects',
        'user-1,user-2',
        '--json',
      ],
      own,
    );
    expect(made.code, made.stderr).toBe(0);
    const body = JSON.parse(made.stdout);
    expect(body.client_secret).toBeUndefined();
    expect(body).toMatchObject({
      token_endpoint_auth_method: 'private_key_jwt',
      jwks: { keys: [{ kid: 'k1', kty: 'EC' }] },
      jwt_bearer_subjects: ['user-1', 'user-2'],
    });
    // A private key in the file is refused, naming the flag.
    writeFileSync(
      file,
      JSON.stringify({ keys: [{ ...(await exportJWK(privateKey)), kid: 'k2' }] }),
    );
    const refused = await tessera(
      [
        'client',
        'create',
        '--name',
        'Leaky',
        '--grant-types',
        'client_credentials',
        '--auth-method',
        'private_key_jwt',
        '--jwks-file',
        file,
      ],
      own,
    );
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/--jwks-file: .*private or secret key material/);
    const missing = await tessera(
      [
        'client',
        'create',
        '--name',
        'Lost',
        '--auth-method',
        'private_key_jwt',
        '--jwks-file',
        join(dir, 'nope.json'),
      ],
      own,
    );
    expect(missing.stderr).toMatch(/--jwks-file: cannot read .*ENOENT/);
  });

  it('client create refuses a bad redirect URI', async () => {
    const res = await tessera([
      'client',
      'create',
      '--name',
      'Bad',
      '--redirect-uri',
      'http://evil.example/cb',
    ]);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('https');
  });

  it('client list shows every client, without secrets', async () => {
    const text = await tessera(['client', 'list']);
    expect(text.stdout).toContain('My app');
    expect(text.stdout).toContain('Service');
    const json = JSON.parse((await tessera(['client', 'list', '--json'])).stdout);
    expect(json.clients).toHaveLength(3);
    expect(JSON.stringify(json)).not.toContain('secret"');
  });

  it('client delete removes a client; an unknown id is an error', async () => {
    const res = await tessera(['client', 'delete', clientId, '--json']);
    expect(JSON.parse(res.stdout)).toEqual({ deleted: clientId });
    await withStore(async (store) =>
      expect(await store.clients.findById(clientId)).toBeUndefined(),
    );
    const spa = JSON.parse((await tessera(['client', 'list', '--json'])).stdout).clients.find(
      (c: { client_name: string }) => c.client_name === 'SPA',
    );
    const text = await tessera(['client', 'delete', spa.client_id]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`Deleted client ${spa.client_id}`);
    const missing = await tessera(['client', 'delete', 'no-such-client']);
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim()).toBe('tessera: no client with id "no-such-client"');
  });

  it('client create sets default_max_age and require_auth_time, and refuses a max age that is not seconds', async () => {
    const made = await tessera([
      'client',
      'create',
      '--name',
      'Strict app',
      '--redirect-uri',
      'https://strict.example/cb',
      '--default-max-age',
      '3600',
      '--require-auth-time',
      '--require-par',
      '--json',
    ]);
    expect(made.code, made.stderr).toBe(0);
    const body = JSON.parse(made.stdout);
    expect(body).toMatchObject({
      default_max_age: 3600,
      require_auth_time: true,
      require_pushed_authorization_requests: true,
    });
    await withStore(async (store) => {
      const client = await store.clients.findById(body.client_id);
      expect(client).toMatchObject({
        defaultMaxAge: 3600,
        requireAuthTime: true,
        requirePushedAuthorizationRequests: true,
      });
    });

    const plain = JSON.parse(
      (
        await tessera([
          'client',
          'create',
          '--name',
          'Plain app',
          '--redirect-uri',
          'https://plain.example/cb',
          '--json',
        ])
      ).stdout,
    );
    expect(plain).toMatchObject({
      default_max_age: null,
      require_auth_time: false,
      require_pushed_authorization_requests: false,
    });

    for (const [value, says] of [
      ['1h', '--default-max-age must be a whole number of seconds'],
      ['-5', '--default-max-age must be a whole number of seconds'],
      ['999999999999', '--default-max-age'],
    ] as const) {
      const res = await tessera([
        'client',
        'create',
        '--name',
        'Bad age',
        '--redirect-uri',
        'https://bad.example/cb',
        `--default-max-age=${value}`,
      ]);
      expect(res.code, value).toBe(1);
      expect(res.stderr, value).toContain(says);
      expect(res.stderr.trim().split('\n')).toHaveLength(1);
    }
  });

  it('keys rotate promotes the standby keys; keys list shows the states', async () => {
    const before = JSON.parse((await tessera(['keys', 'list', '--json'])).stdout).keys;
    const standbyEs = before.find(
      (k: { alg: string; state: string }) => k.alg === 'ES256' && k.state === 'standby',
    ).kid;
    const rotated = JSON.parse((await tessera(['keys', 'rotate', '--json'])).stdout).rotated;
    expect(rotated.find((r: { alg: string }) => r.alg === 'ES256').kid).toBe(standbyEs);
    const after = JSON.parse((await tessera(['keys', 'list', '--json'])).stdout).keys;
    expect(after.filter((k: { state: string }) => k.state === 'current')).toHaveLength(3);
    expect(after.filter((k: { state: string }) => k.state === 'standby')).toHaveLength(3);
    expect(
      after.filter((k: { state: string }) => k.state === 'retired').length,
    ).toBeGreaterThanOrEqual(3);
  });

  it('an unknown command prints the usage and exits 2', async () => {
    const res = await tessera(['frobnicate']);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('Usage: tessera');
  });

  it('a bad setting stops start-up with one line naming it, exit code 1', async () => {
    const res = await tessera(['start'], { PORT: 'abc' });
    expect(res.code).toBe(1);
    expect(res.stderr.trim()).toBe('tessera: PORT: must be a whole number, got "abc"');
  });

  it('a TESSERA_SECRET other than the keys’ stops any command with one line naming it, exit code 1', async () => {
    // The keys of this database are sealed under the secret made on the first run.
    expect((await tessera(['client', 'list'])).code).toBe(0);
    const res = await tessera(['client', 'list', '--json'], {
      TESSERA_SECRET: 'another-secret-of-at-least-32-characters-long',
    });
    expect(res.code).toBe(1);
    expect(res.stderr.trim()).toMatch(
      /^tessera: TESSERA_SECRET: cannot decrypt signing key \S+: TESSERA_SECRET is not the secret the keys were created with$/,
    );
    expect(JSON.parse(res.stdout).error).toBe('config');
  });

  it('--help describes a command without running it', async () => {
    // `start --help` must print and exit, not start a server.
    const start = await tessera(['start', '--help'], { PORT: '1' });
    expect(start.code).toBe(0);
    expect(start.stdout).toContain('Usage: tessera start [--demo]');
    const create = await tessera(['client', 'create', '--help']);
    expect(create.stdout).toContain('--redirect-uri URL');
    expect(create.stdout).toContain('shown\nonly once');
  });

  it('an unknown option is one line pointing at --help, exit code 1', async () => {
    const res = await tessera(['client', 'list', '--bogus', '--json']);
    expect(res.code).toBe(1);
    expect(res.stderr.trim().split('\n')).toHaveLength(1);
    expect(res.stderr).toContain("'--bogus'");
    expect(res.stderr).toContain('tessera client list --help');
    expect(JSON.parse(res.stdout).error).toBe('usage');
  });

  /**
   * `tessera start` on a port the system chooses, behind a relay whose address is its issuer
   * (see relay()); resolves once `ready` appears in its output.
   */
  async function startServer(args: string[], ready: string) {
    const front = await relay();
    const server = startTessera(
      { ...env, PORT: '0', HOST: '127.0.0.1', TESSERA_ISSUER: front.url },
      args,
    );
    const stop = async () => {
      server.child.kill('SIGTERM');
      const code = await server.exited;
      await front.close();
      return code;
    };
    try {
      await server.ready();
      front.to(server.port);
      await server.waitForOutput((out) => out.includes(ready));
    } catch (error) {
      await stop();
      throw error;
    }
    return {
      url: front.url,
      output: () => server.stdout(),
      /** Sends SIGTERM and resolves with the exit code. */
      stop,
    };
  }

  it('start prints the URL, the database and the next steps, serves /healthz, stops on SIGTERM', async () => {
    const server = await startServer([], 'client create');
    try {
      const out = server.output();
      expect(out).toContain(`Tessera is running at ${server.url}`);
      expect(out).toMatch(/^ {2}Listening on http:\/\/127\.0\.0\.1:\d+$/m);
      expect(out).toContain(`Database: SQLite at ${join(dir, 'cli.sqlite')}`);
      expect(out).toMatch(/tessera user create --username \S+ --email \S+ --password/);
      expect(out).toMatch(/tessera client create --name .+ --redirect-uri \S+/);
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
      expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });

  it('start --demo prints credentials that work, and a matching PKCE pair', async () => {
    const server = await startServer(['--demo'], 'grant_type=client_credentials');
    try {
      const out = server.output();
      expect(out).toContain(`Tessera is running at ${server.url}`);
      const password = /username: demo\s+password: (\S+)/.exec(out)![1]!;
      const secret = /client_secret: (\S+)/.exec(out)![1]!;
      const id = /client_id:\s+(\S+)/.exec(out)![1]!;
      const verifier = /code_verifier: (\S+)/.exec(out)![1]!;
      const authorize = new URL(/(http\S+\/authorize\?\S+)/.exec(out)![1]!);
      expect(authorize.origin).toBe(server.url);
      expect(authorize.search).toContain('scope=openid%20profile%20email');
      expect(Object.fromEntries(authorize.searchParams)).toMatchObject({
        response_type: 'code',
        client_id: id,
        redirect_uri: 'http://localhost:3000/callback',
        state: 'demo',
        code_challenge_method: 'S256',
        code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      });
      // The printed authorize URL is one the server accepts: it sends the person to sign in.
      const page = await fetch(authorize, { redirect: 'manual' });
      expect(page.status).toBeLessThan(400);

      const token = await fetch(`${server.url}/token`, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: 'grant_type=client_credentials',
      });
      expect(token.status).toBe(200);
      await withStore(async (store) => {
        const ctx = { store } as Parameters<typeof authenticate>[0];
        expect(await authenticate(ctx, 'demo', password)).toBeDefined();
      });
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });
});
