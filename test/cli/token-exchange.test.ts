import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/kysely/index.js';
import { CLI } from '../helpers/cli.js';

const run = promisify(execFile);
const ID_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:id_token';

/** `tessera client create` with an exchange policy, and `tessera user link-identity`. */
describe('tessera CLI for token exchange', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tessera-cli-exchange-'));
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

  async function tessera(args: string[]) {
    try {
      const { stdout, stderr } = await run('node', [...CLI, ...args], { env });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const e = error as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  }

  async function withStore<T>(fn: (store: Awaited<ReturnType<typeof openStore>>) => Promise<T>) {
    const store = await openStore({ dialect: 'sqlite', path: join(dir, 'cli.sqlite') });
    try {
      return await fn(store);
    } finally {
      await store.close();
    }
  }

  it('client create registers the grant and the exchange policy, and refuses a bad one by its flag', async () => {
    const made = await tessera([
      'client',
      'create',
      '--name',
      'Backend',
      '--grant-types',
      'urn:ietf:params:oauth:grant-type:token-exchange',
      '--token-exchange-audience',
      'https://api-b.example.com',
      '--token-exchange-audience',
      'orders-api',
      '--token-exchange-subject-token-types',
      `urn:ietf:params:oauth:token-type:access_token,${ID_TOKEN_TYPE}`,
      '--token-exchange-trusted-issuer',
      'https://accounts.example.com',
      '--json',
    ]);
    expect(made.code, made.stderr).toBe(0);
    const body = JSON.parse(made.stdout);
    expect(body).toMatchObject({
      grant_types: ['urn:ietf:params:oauth:grant-type:token-exchange'],
      token_exchange_audiences: ['https://api-b.example.com', 'orders-api'],
      token_exchange_subject_token_types: [
        'urn:ietf:params:oauth:token-type:access_token',
        ID_TOKEN_TYPE,
      ],
      token_exchange_trusted_issuers: ['https://accounts.example.com'],
    });
    await withStore(async (store) => {
      expect((await store.clients.findById(body.client_id))?.tokenExchangeAudiences).toEqual([
        'https://api-b.example.com',
        'orders-api',
      ]);
    });

    const bad = await tessera([
      'client',
      'create',
      '--name',
      'Bad',
      '--grant-types',
      'urn:ietf:params:oauth:grant-type:token-exchange',
      '--token-exchange-subject-token-types',
      'urn:ietf:params:oauth:token-type:saml2',
    ]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('--token-exchange-subject-token-types');
    const publicOne = await tessera([
      'client',
      'create',
      '--name',
      'SPA',
      '--public',
      '--redirect-uri',
      'https://spa.example/cb',
      '--grant-types',
      'authorization_code,urn:ietf:params:oauth:grant-type:token-exchange',
    ]);
    expect(publicOne.code).not.toBe(0);
    expect(publicOne.stderr).toContain('public client cannot use token exchange');
  });

  it('user link-identity links, refuses a second link, and unlinks', async () => {
    const created = await tessera([
      'user',
      'create',
      '--username',
      'linda',
      '--email',
      'linda@example.com',
      '--password',
      'correct horse battery staple',
      '--json',
    ]);
    expect(created.code, created.stderr).toBe(0);
    const userId = JSON.parse(created.stdout).id;
    const link = [
      'user',
      'link-identity',
      '--username',
      'linda',
      '--issuer',
      'https://accounts.example.com',
      '--subject',
      '1234567890',
    ];
    const linked = await tessera(link);
    expect(linked.code, linked.stderr).toBe(0);
    expect(linked.stdout).toContain(
      'Linked https://accounts.example.com subject "1234567890" to linda',
    );
    await withStore(async (store) => {
      const user = await store.externalIdentities.findUser(
        'https://accounts.example.com',
        '1234567890',
      );
      expect(user?.id).toBe(userId);
    });
    const again = await tessera(link);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain('linked already');
    const nobody = await tessera([
      'user',
      'link-identity',
      '--username',
      'nobody',
      '--issuer',
      'https://a.example',
      '--subject',
      'x',
    ]);
    expect(nobody.code).not.toBe(0);
    expect(nobody.stderr).toContain('no user with username "nobody"');
    const unlinked = await tessera([...link, '--unlink', '--json']);
    expect(unlinked.code, unlinked.stderr).toBe(0);
    expect(JSON.parse(unlinked.stdout)).toMatchObject({ linked: false, subject: '1234567890' });
    await withStore(async (store) => {
      expect(
        await store.externalIdentities.findUser('https://accounts.example.com', '1234567890'),
      ).toBeUndefined();
    });
  });
});
