import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { openStore } from '../../src/store/kysely/index.js';
import { testConfig } from '../helpers/config.js';
import { freshIp } from '../throttle/helpers.js';

const redisUrl = process.env.TEST_REDIS_URL;
if (!redisUrl && process.env.CI === 'true') {
  throw new Error('CI=true but TEST_REDIS_URL is not set: the Redis tests cannot be skipped in CI');
}
const PREFIX = `tessera-test:${process.pid}:${randomBytes(4).toString('hex')}:`;

/** Types `code` at /device of `app` from `ip`, with the CSRF pair the page gave; the status. */
async function typeCode(app: FastifyInstance, ip: string, code: string): Promise<number> {
  const page = await app.inject({ url: '/device', remoteAddress: ip });
  const seed = page.cookies.find((c) => c.name === 'tessera_csrf')!.value;
  const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;
  const res = await app.inject({
    method: 'POST',
    url: '/device',
    remoteAddress: ip,
    cookies: { tessera_csrf: seed },
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ _csrf: csrf, user_code: code }).toString(),
  });
  return res.statusCode;
}

describe.skipIf(!redisUrl)('user code guessing counted across instances sharing Redis', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
    const redis = new Redis(redisUrl!);
    const keys = await redis.keys(`${PREFIX}*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });

  it('refuses an address at every instance once its wrong codes, spread over them, pass the limit', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-device-throttle-'));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const apps: FastifyInstance[] = [];
    for (let i = 0; i < 2; i++) {
      const store = await openStore({ dialect: 'sqlite', path: join(dir, 'shared.sqlite') });
      const app = await buildApp({
        config: testConfig({
          TESSERA_REDIS_URL: redisUrl!,
          TESSERA_RATE_LIMIT_PREFIX: PREFIX,
          TESSERA_DEVICE_USER_CODE_MAX_FAILURES: '3',
        }),
        store,
      });
      cleanups.push(async () => {
        await app.close();
        await store.close();
      });
      apps.push(app);
    }
    const [a, b] = apps;
    const ip = freshIp();
    expect(await typeCode(a!, ip, 'BBBB-BBBB')).toBe(400);
    expect(await typeCode(b!, ip, 'CCCC-CCCC')).toBe(400);
    // The third wrong code reaches the limit: from now on this address is refused everywhere.
    expect(await typeCode(a!, ip, 'DDDD-DDDD')).toBe(429);
    expect(await typeCode(b!, ip, 'FFFF-FFFF')).toBe(429);
    // Another address is not.
    expect(await typeCode(b!, freshIp(), 'GGGG-GGGG')).toBe(400);
  });
});
