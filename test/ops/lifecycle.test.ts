import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { dropPostgresSchema } from '../../src/store/kysely/index.js';
import { eventually } from '../helpers/eventually.js';
import { listening, logLines, useTessera } from './process.js';

const start = useTessera();

describe('tessera start', () => {
  it('serves /healthz and /readyz, prints where to go next, and logs JSON lines with request ids', async () => {
    const tessera = await start({ TESSERA_ISSUER: 'https://id.example.test' });
    await tessera.ready();
    // The issuer (the public URL, a proxy's here), and the port the system chose for PORT=0.
    expect(tessera.stdout()).toContain('Tessera is running at https://id.example.test\n');
    expect(tessera.stdout()).toMatch(/^ {2}Listening on http:\/\/127\.0\.0\.1:\d+$/m);
    expect(tessera.port).toBeGreaterThan(0);
    expect(tessera.stdout()).toContain('Database: SQLite at');
    expect(tessera.stdout()).toContain('npx tessera user create');
    expect(tessera.stdout()).toContain('npx tessera client create');

    const health = await fetch(`${tessera.url}/healthz`, {
      headers: { 'x-request-id': 'ops-health-1' },
    });
    expect(health.status).toBe(200);
    expect(health.headers.get('x-request-id')).toBe('ops-health-1');
    const ready = await fetch(`${tessera.url}/readyz`, {
      headers: { 'x-request-id': 'ops-ready-1' },
    });
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ok', database: 'sqlite' });

    await tessera.waitForOutput((out) => {
      const completed = logLines(out).filter((l) => l.msg === 'request completed');
      return ['ops-health-1', 'ops-ready-1'].every((id) => completed.some((l) => l.reqId === id));
    });
    // Every line is JSON but the start-up banner, whose lines are indented or empty.
    for (const line of tessera.stdout().split('\n')) {
      if (line.startsWith('{')) expect(() => JSON.parse(line), line).not.toThrow();
      else expect(line === '' || line.startsWith('  '), line).toBe(true);
    }
    const logs = logLines(tessera.stdout());
    expect(logs.every((l) => typeof l.level === 'number' && typeof l.time === 'number')).toBe(true);
    const requestLogs = logs.filter((l) => 'req' in l || 'res' in l);
    expect(requestLogs.length).toBeGreaterThanOrEqual(4);
    expect(requestLogs.every((l) => typeof l.reqId === 'string' && l.reqId !== '')).toBe(true);
    const mine = requestLogs.filter((l) => l.reqId === 'ops-health-1').map((l) => l.msg);
    expect(mine).toEqual(['incoming request', 'request completed']);
  });

  it('generates the development secret into its data folder once and keeps it across restarts', async () => {
    const first = await start();
    await first.ready();
    const file = join(first.dir, 'data', 'secret');
    const secret = readFileSync(file, 'utf8');
    expect(secret.trim().length).toBeGreaterThanOrEqual(32);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const jwks = await (await fetch(`${first.url}/jwks`)).json();
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);

    // Same folder and database: the secret is re-read, so the stored signing keys still open.
    const again = await start({
      ...first.sameData,
    });
    await again.ready();
    expect(readFileSync(file, 'utf8')).toBe(secret);
    expect(await (await fetch(`${again.url}/jwks`)).json()).toEqual(jwks);
  });

  it('refuses, in one line naming TESSERA_SECRET, to start with another secret than the keys were sealed with', async () => {
    const first = await start();
    await first.ready();
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    const other = await start({
      ...first.sameData,
      TESSERA_SECRET: 'not-the-secret-the-keys-were-sealed-with',
    });
    expect(await other.exited).toBe(1);
    expect(other.stderr().trim()).toMatch(
      /^tessera: TESSERA_SECRET: cannot decrypt signing key [^\n]+$/,
    );
    expect(other.stdout()).not.toContain('Listening on');
  });

  it('stops on SIGTERM: exits 0 promptly, having closed the database', async () => {
    const tessera = await start();
    await tessera.ready();
    expect((await fetch(`${tessera.url}/healthz`)).status).toBe(200);
    // SQLite runs in WAL mode; closing the last connection checkpoints and removes the log.
    const wal = join(tessera.dir, 'data', 'tessera.sqlite-wal');
    expect(existsSync(wal)).toBe(true);
    const sent = Date.now();
    tessera.child.kill('SIGTERM');
    expect(await tessera.exited).toBe(0);
    expect(Date.now() - sent).toBeLessThan(5_000);
    const messages = logLines(tessera.stdout()).map((l) => l.msg);
    expect(messages).toContain('shutting down: finishing in-flight requests');
    expect(messages.at(-1)).toBe('stopped');
    expect(existsSync(wal)).toBe(false);
  });

  it('stops on SIGINT too', async () => {
    const tessera = await start();
    await tessera.ready();
    tessera.child.kill('SIGINT');
    expect(await tessera.exited).toBe(0);
    // A request's own log line (the readiness probe's) may be written after the shutdown's.
    const lines = logLines(tessera.stdout()).filter((line) => line.reqId === undefined);
    expect(lines.at(-1)?.msg, JSON.stringify(lines.slice(-3))).toBe('stopped');
  });

  it('finishes a request in flight at SIGTERM, refuses new connections meanwhile, then exits 0', async () => {
    const tessera = await start();
    await tessera.ready();

    // A POST whose body arrives slowly: headers now, the rest after the signal.
    const body = 'grant_type=client_credentials&client_id=nobody&client_secret=nothing';
    const socket = connect({ port: tessera.port, host: '127.0.0.1' });
    let response = '';
    socket.setEncoding('utf8').on('data', (chunk: string) => {
      response += chunk;
    });
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write(
      [
        'POST /token HTTP/1.1',
        `Host: 127.0.0.1:${tessera.port}`,
        'Content-Type: application/x-www-form-urlencoded',
        `Content-Length: ${body.length}`,
        'X-Request-Id: ops-in-flight',
        'Connection: close',
        '',
        body.slice(0, 10),
      ].join('\r\n'),
    );
    await tessera.waitForOutput((out) => out.includes('"reqId":"ops-in-flight"'));

    tessera.child.kill('SIGTERM');
    await tessera.waitForOutput((out) => out.includes('shutting down'));
    // The listening socket is closed at once, while the request is still open. Nothing tells
    // when (Node's 'close' event waits for that request), so the port is polled, with a deadline.
    await eventually(async () => !(await listening(tessera.port)), { within: 5_000 });
    expect(tessera.stdout()).not.toContain('"msg":"stopped"');

    socket.end(body.slice(10));
    await closed;
    // The request ran to its real answer (an unknown client), not a 503 or a reset.
    expect(response).toMatch(/^HTTP\/1\.1 401 /);
    expect(response).toContain('"error":"invalid_client"');
    expect(await tessera.exited).toBe(0);
    const messages = logLines(tessera.stdout()).map((l) => l.msg);
    expect(messages.indexOf('request completed'), JSON.stringify(messages)).toBeLessThan(
      messages.indexOf('stopped'),
    );
  });

  it('gives up on a request that never finishes 10 s after SIGTERM, exiting 1', async () => {
    const tessera = await start();
    await tessera.ready();
    const socket = connect({ port: tessera.port, host: '127.0.0.1' });
    socket.on('error', () => {});
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write(
      'POST /token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n' +
        'Content-Length: 100\r\nX-Request-Id: ops-stuck\r\n\r\ngrant_type=',
    );
    await tessera.waitForOutput((out) => out.includes('"reqId":"ops-stuck"'));
    // The grace period is what is tested, and it is real time in another process: the test
    // waits for the exit itself and measures how long it took.
    const sent = Date.now();
    tessera.child.kill('SIGTERM');
    expect(await tessera.exited).toBe(1);
    const waited = Date.now() - sent;
    expect(waited).toBeGreaterThanOrEqual(9_500);
    expect(waited).toBeLessThan(15_000);
    expect(logLines(tessera.stdout()).at(-1)?.msg).toMatch(/in-flight requests still open/);
    socket.destroy();
  }, 30_000);

  it('starts on PostgreSQL named by DATABASE_URL', {
    skip: !process.env.TEST_DATABASE_URL,
  }, async () => {
    // The server has no schema setting, but libpq's `options` parameter in the URL sets
    // search_path: the run gets a schema of its own and leaves the test database as it was.
    const base = process.env.TEST_DATABASE_URL!;
    const schema = `ops_${process.pid}_${randomBytes(4).toString('hex')}`;
    const admin = new pg.Client({ connectionString: base });
    await admin.connect();
    await admin.query(`CREATE SCHEMA "${schema}"`);
    await admin.end();
    try {
      const url = new URL(base);
      url.searchParams.set('options', `-c search_path=${schema}`);
      const tessera = await start({ DATABASE_URL: url.toString() });
      await tessera.ready();
      expect(tessera.stdout()).toContain('Database: PostgreSQL at');
      const ready = await fetch(`${tessera.url}/readyz`);
      expect(await ready.json()).toEqual({ status: 'ok', database: 'postgres' });
      tessera.child.kill('SIGTERM');
      expect(await tessera.exited).toBe(0);
    } finally {
      await dropPostgresSchema(base, schema);
    }
  });
});
