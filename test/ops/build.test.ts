import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'tessera.js');

/*
 * The one test of the build: every other test runs the sources. It builds dist/ as `npm run build`
 * does, here and now, so that it never passes on a stale build, and runs `node bin/tessera.js`
 * as an operator does, plain Node without tsx. It looks at what only a build can get wrong: the
 * files read by path at run time (views, stylesheet, password list) and the worker threads.
 */
describe('the build in dist/', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    // Types unchecked: `npm test` has checked them before, and the files are the same.
    await run(process.execPath, [join(ROOT, 'scripts', 'build.js'), '--no-check'], { cwd: ROOT });
    dir = mkdtempSync(join(tmpdir(), 'tessera-build-'));
    env = { ...process.env };
    for (const key of Object.keys(env)) {
      if (key.startsWith('TESSERA_') || key === 'DATABASE_URL' || key === 'NODE_ENV')
        delete env[key];
    }
    Object.assign(env, {
      TESSERA_DATA_DIR: join(dir, 'data'),
      // A file, not memory: the SQLite checkpointer's worker thread runs only on a file.
      DATABASE_URL: `sqlite:${join(dir, 'data', 'tessera.sqlite')}`,
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'info',
    });
  }, 120_000);

  /** `node bin/tessera.js …args`: its exit code and output, whether it succeeds or fails. */
  const tessera = (...args: string[]) =>
    run(process.execPath, [BIN, ...args], { env }).then(
      ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
      (error: { code: number; stdout: string; stderr: string }) => error,
    );

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('starts with `node bin/tessera.js start`, answers /readyz, and serves its pages', async () => {
    const child = spawn(process.execPath, [BIN, 'start'], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      err += chunk;
    });
    const exited = new Promise<number | string>((resolve) =>
      child.once('close', (code, signal) => resolve(code ?? signal ?? -1)),
    );
    try {
      // Port 0: the address is read from the log line that follows `listen`.
      const url = await new Promise<string>((resolve, reject) => {
        const look = () => {
          const match = /"Server listening at (http:\/\/127\.0\.0\.1:\d+)"/.exec(out);
          if (match) resolve(match[1]!);
        };
        child.stdout.on('data', look);
        void exited.then((code) =>
          reject(new Error(`exited (${code}) before listening.\n${out}\n${err}`)),
        );
      });

      const ready = await fetch(`${url}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toEqual({ status: 'ok', database: 'sqlite' });
      // Views (src/ui/views) and the stylesheet (src/ui/assets), copied by the build.
      const login = await fetch(`${url}/login`);
      expect(login.status).toBe(200);
      expect(await login.text()).toContain('Sign in');
      const css = await fetch(`${url}/assets/tessera.css`);
      expect(css.status).toBe(200);
      expect((await css.text()).length).toBeGreaterThan(100);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    // The checkpointer thread (store/kysely/checkpointer.js) warns when it cannot start.
    expect(err).not.toContain('checkpointer');
  }, 60_000);

  it('carries over every file of src/ that is not TypeScript', () => {
    const others = (root: string) =>
      readdirSync(root, { recursive: true, withFileTypes: true })
        .filter((entry) => entry.isFile() && !entry.name.endsWith('.ts'))
        .map((entry) => relative(root, join(entry.parentPath, entry.name)))
        .sort();
    const fromSrc = others(join(ROOT, 'src'));
    expect(fromSrc).toEqual(expect.arrayContaining(['ui/views/login.eta']));
    const inDist = others(join(ROOT, 'dist')).filter((path) => !/\.(js|d\.ts|map)$/.test(path));
    // Every view, asset and list, and the two workers written in JavaScript.
    expect(others(join(ROOT, 'dist'))).toEqual(expect.arrayContaining(fromSrc));
    expect(inDist).toEqual(fromSrc.filter((path) => !path.endsWith('.js')));
  });

  it('exports tessera/resource: plain Node resolves it to dist/ by self-reference, TypeScript finds its types', async () => {
    const names = await run(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        "const kit = await import('tessera/resource'); console.log(import.meta.resolve('tessera/resource')); console.log(Object.keys(kit).sort().join(' '));",
      ],
      { cwd: ROOT },
    );
    const [resolved, exported] = names.stdout.trim().split('\n');
    expect(resolved).toMatch(/\/dist\/resource\/index\.js$/);
    expect(exported).toBe(
      'TokenError bearerAuth createTokenVerifier metadataHandler metadataPath metadataUrl protectedResourceMetadata tesseraResource',
    );
    // A consumer's TypeScript, without the repository's tsconfig (so without the tessera-source
    // condition): the types come from dist/resource/index.d.ts.
    const consumer = mkdtempSync(join(ROOT, '.kit-consumer-'));
    try {
      writeFileSync(
        join(consumer, 'api.ts'),
        [
          "import { bearerAuth, type TokenInfo } from 'tessera/resource';",
          "const auth = bearerAuth({ issuer: 'https://id.example.com', resource: 'https://api.example.com' });",
          'export const info: TokenInfo | undefined = undefined;',
          'export default auth;',
        ].join('\n'),
      );
      const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
      const flags = [
        '--noEmit',
        '--strict',
        '--module',
        'nodenext',
        '--skipLibCheck',
        '--types',
        'node',
      ];
      const checked = await run(
        process.execPath,
        [tsc, ...flags, '--traceResolution', join(consumer, 'api.ts')],
        {
          cwd: ROOT,
          maxBuffer: 64 * 1024 * 1024,
        },
      );
      expect(checked.stdout).toMatch(
        /'tessera\/resource' was successfully resolved to '[^']*\/dist\/resource\/index\.d\.ts'/,
      );
    } finally {
      rmSync(consumer, { recursive: true, force: true });
    }
  }, 60_000);

  it('creates a user with the CLI: the password list is read and the hashing thread answers', async () => {
    const ada = ['user', 'create', '--username', 'ada', '--email', 'ada@example.com'];
    const create = (password: string) => tessera(...ada, '--password', password);
    // The list (src/domain/wordlists), copied by the build: a missing file would fail the command.
    const common = await create('1234567890');
    expect(common.code).toBe(1);
    expect(common.stderr).toMatch(/^tessera: This password is one of the most commonly used/);
    // argon2id runs in a worker thread, on a module of its own (domain/password-hasher.js).
    const created = await create('correct horse battery');
    expect(created.code).toBe(0);
    expect(created.stdout).toContain('Created user ada');
  }, 60_000);
});
