import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Browser } from '../helpers/browser.js';
import { type HeldLock, holdWriteLock } from '../helpers/sqlite-lock.js';
import { useTessera } from './process.js';

/*
 * Another process holds the write lock of Tessera's SQLite file (an operator's
 * sqlite3 shell, a backup or migration tool, a stuck CLI command). Tessera
 * runs as an operator runs it (`tessera start`, its own process); the lock is
 * held by a third process. Nothing here measures time: each test asserts
 * what happens while the lock is held, and after it is released.
 */

const start = useTessera();
const ADMIN_KEY = 'ops-admin-key-0123456789abcdef-0123';
const ADMIN = { 'x-admin-key': ADMIN_KEY, 'content-type': 'application/json' };

describe('a SQLite file locked by another process', () => {
  let lock: HeldLock | undefined;
  afterEach(() => lock?.kill());

  it('keeps /healthz and reads answering, refuses writes with 503 and Retry-After, says so on /readyz, and loses nothing', async () => {
    const tessera = await start({ TESSERA_ADMIN_KEY: ADMIN_KEY });
    await tessera.ready();
    const url = (path: string) => `${tessera.url}${path}`;
    const newClient = (name: string) =>
      fetch(url('/admin/api/clients'), {
        method: 'POST',
        headers: ADMIN,
        body: JSON.stringify({ client_name: name, redirect_uris: ['https://app.example.com/cb'] }),
      });
    const signUp = (username: string) =>
      fetch(url('/api/users'), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          username,
          email: `${username}@example.com`,
          password: 'correct horse battery',
        }),
      });

    // Before: a person and a client, stored.
    expect((await signUp('before')).status).toBe(201);
    const made = await newClient('Before');
    expect(made.status).toBe(201);
    const { client_id: clientId } = (await made.json()) as { client_id: string };

    // Another process takes the write lock, with a write of its own to the same client.
    const file = join(tessera.dir, 'data', 'tessera.sqlite');
    lock = await holdWriteLock(file, 'UPDATE clients SET name = ? WHERE id = ?', [
      'Renamed elsewhere',
      clientId,
    ]);

    // /healthz answers, and a write is refused with 503 and Retry-After (the event loop never waits
    // on the lock: test/store/sqlite-busy.test.ts shows that in order of events).
    const health = await fetch(url('/healthz'));
    expect(health.status).toBe(200);
    const refused = await newClient('During');
    expect(refused.status).toBe(503);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await refused.json()).toMatchObject({ error: 'temporarily_unavailable' });

    // Every later write is refused the same way, JSON for the API, the error page for a form.
    const api = await signUp('during');
    expect(api.status).toBe(503);
    expect(api.headers.get('retry-after')).not.toBeNull();
    expect(((await api.json()) as { error: string }).error).toBe('temporarily_unavailable');
    const browser = new Browser(tessera.url);
    const form = await browser.get('/signup');
    expect(form.status).toBe(200);
    const page = await browser.submit(
      form,
      {
        Username: 'during_page',
        Email: 'during_page@example.com',
        Password: 'correct horse battery',
      },
      'Create account',
    );
    expect(page.status).toBe(503);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(page.headers.get('retry-after')).not.toBeNull();

    // /readyz says why; reads go on (the other process's write is not visible yet).
    const ready = await fetch(url('/readyz'));
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({
      status: 'unavailable',
      database: 'sqlite',
      reason: expect.stringContaining('locked'),
    });
    const read = await fetch(url(`/admin/api/clients/${clientId}`), { headers: ADMIN });
    expect(read.status).toBe(200);
    expect(((await read.json()) as { client_name: string }).client_name).toBe('Before');
    expect((await fetch(url('/jwks'))).status).toBe(200);

    // The other process commits and lets go: everything works again, and nothing was lost.
    await lock.release();
    expect((await fetch(url('/readyz'))).status).toBe(200);
    expect((await newClient('After')).status).toBe(201);
    expect((await signUp('during')).status).toBe(201);
    const clients = (await (await fetch(url('/admin/api/clients'), { headers: ADMIN })).json()) as {
      clients: { client_name: string }[];
    };
    expect(clients.clients.map((c) => c.client_name).sort()).toEqual([
      'After',
      'Renamed elsewhere',
    ]);
    const users = (await (await fetch(url('/admin/api/users'), { headers: ADMIN })).json()) as {
      users: { username: string }[];
    };
    expect(users.users.map((u) => u.username).sort()).toEqual(['before', 'during']);

    // The refusals were logged as warnings with the request id, not as 500s.
    const logs = tessera.stdout();
    expect(logs).not.toContain('"statusCode":500');
    expect(logs).toContain('database unavailable: answered 503');
  });
});
