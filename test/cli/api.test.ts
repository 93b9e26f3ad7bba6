import { afterAll, describe, expect, it } from 'vitest';
import { cliSandbox } from '../helpers/cli.js';

/** `tessera api create|list|update|delete` and `tessera client create --resources`. */
describe('tessera CLI for APIs', () => {
  const cli = cliSandbox('tessera-cli-apis-');
  afterAll(() => cli.remove());
  const tessera = cli.run;

  it('creates, lists, updates and deletes an API; refuses bad input by its flag', async () => {
    const made = await tessera([
      'api',
      'create',
      '--identifier',
      'https://api.example.com',
      '--name',
      'Orders API',
      '--scopes',
      'orders:read orders:write',
      '--token-format',
      'opaque',
      '--access-token-ttl',
      '600',
      '--json',
    ]);
    expect(made.code, made.stderr).toBe(0);
    const api = JSON.parse(made.stdout);
    expect(api).toMatchObject({
      identifier: 'https://api.example.com',
      name: 'Orders API',
      scopes: ['orders:read', 'orders:write'],
      access_token_format: 'opaque',
      access_token_ttl: 600,
      open_to_self_registered: false,
    });
    expect(api.client_secret).toMatch(/^[\w-]{43}$/);

    const text = await tessera(['api', 'list']);
    expect(text.stdout).toContain(`${api.id}  https://api.example.com  Orders API`);

    const updated = await tessera([
      'api',
      'update',
      api.id,
      '--access-token-ttl',
      'server',
      '--token-format',
      'client',
      '--open-to-self-registered',
      '--json',
    ]);
    expect(updated.code, updated.stderr).toBe(0);
    expect(JSON.parse(updated.stdout)).toMatchObject({
      access_token_ttl: null,
      access_token_format: null,
      open_to_self_registered: true,
    });

    const twice = await tessera([
      'api',
      'create',
      '--identifier',
      'https://api.example.com',
      '--name',
      'Again',
    ]);
    expect(twice.code).toBe(1);
    expect(twice.stderr).toContain('exists already');
    const bad = await tessera(['api', 'create', '--identifier', '/relative', '--name', 'X']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('--identifier');
    const badTtl = await tessera(['api', 'update', api.id, '--access-token-ttl', '1h']);
    expect(badTtl.stderr).toContain('--access-token-ttl');

    const client = await tessera([
      'client',
      'create',
      '--name',
      'Shop',
      '--redirect-uri',
      'https://shop.example.com/cb',
      '--resources',
      'https://api.example.com',
      '--json',
    ]);
    expect(client.code, client.stderr).toBe(0);
    expect(JSON.parse(client.stdout).allowed_resources).toEqual(['https://api.example.com']);
    const badClient = await tessera([
      'client',
      'create',
      '--name',
      'Shop',
      '--redirect-uri',
      'https://shop.example.com/cb',
      '--resources',
      'https://api.example.com#x',
    ]);
    expect(badClient.stderr).toContain('--resources');

    const deleted = await tessera(['api', 'delete', api.id]);
    expect(deleted.code, deleted.stderr).toBe(0);
    const gone = await tessera(['api', 'delete', api.id]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain('no such API');
    expect((await tessera(['api', 'list'])).stdout).toContain('No APIs yet');
    // A dozen CLI processes, one after another, each loading the sources through tsx.
  }, 120_000);
});
