import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { cliSandbox } from '../helpers/cli.js';

/**
 * `tessera client create --jwks-uri URL --auth-signing-alg ALG`: a private_key_jwt client whose
 * keys are fetched from its jwks_uri, held to one assertion algorithm; bad values refused in one
 * line naming the flag, outside production and in it (where no jwks_uri may reach an internal
 * address).
 */
describe('tessera client create with a jwks_uri and an assertion algorithm', () => {
  const cli = cliSandbox('tessera-cli-jwks-uri-');
  const production = cliSandbox('tessera-cli-jwks-uri-prod-', {
    NODE_ENV: 'production',
    TESSERA_SECRET: randomBytes(32).toString('hex'),
    TESSERA_SMTP_URL: 'smtp://127.0.0.1:9',
  });
  afterAll(() => {
    cli.remove();
    production.remove();
  });

  const keyedClient = (jwksUri: string, alg: string, extra: string[] = []) => [
    'client',
    'create',
    '--name',
    'Keyed service',
    '--grant-types',
    'client_credentials',
    '--auth-method',
    'private_key_jwt',
    '--jwks-uri',
    jwksUri,
    '--auth-signing-alg',
    alg,
    ...extra,
  ];

  /** A refusal: exit code 1 (as for every bad value), one line on stderr, nothing registered. */
  function expectRefused(res: { code: number; stdout: string; stderr: string }, says: RegExp) {
    expect(res.code, res.stderr).toBe(1);
    expect(res.stdout).toBe('');
    expect(res.stderr.trim().split('\n')).toHaveLength(1);
    expect(res.stderr).toMatch(says);
  }

  it('sets jwks_uri and token_endpoint_auth_signing_alg, as the client list shows', async () => {
    const made = await cli.run(
      keyedClient('https://keys.example.com/jwks.json', 'ES256', ['--json']),
    );
    expect(made.code, made.stderr).toBe(0);
    const body = JSON.parse(made.stdout);
    expect(body).toMatchObject({
      token_endpoint_auth_method: 'private_key_jwt',
      jwks_uri: 'https://keys.example.com/jwks.json',
      jwks: null,
      token_endpoint_auth_signing_alg: 'ES256',
    });
    expect(body.client_secret).toBeUndefined();
    const listed = JSON.parse((await cli.run(['client', 'list', '--json'])).stdout);
    expect(listed.clients).toContainEqual(
      expect.objectContaining({
        client_id: body.client_id,
        jwks_uri: 'https://keys.example.com/jwks.json',
        token_endpoint_auth_signing_alg: 'ES256',
      }),
    );
  });

  it('refuses an unknown algorithm, or one that does not fit the method, naming the flag', async () => {
    expectRefused(
      await cli.run(keyedClient('https://keys.example.com/jwks.json', 'ES999')),
      /^tessera: --auth-signing-alg must be one of RS256, .*ES256.*HS512$/m,
    );
    expectRefused(
      await cli.run(keyedClient('https://keys.example.com/jwks.json', 'HS256')),
      /^tessera: --auth-signing-alg: private_key_jwt signs with an asymmetric alg .*, not HS256$/m,
    );
    // --json: the refusal is a JSON object on stdout too.
    const json = await cli.run(
      keyedClient('https://keys.example.com/jwks.json', 'none', ['--json']),
    );
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({
      error: 'invalid',
      message: expect.stringContaining('--auth-signing-alg must be one of'),
    });
  });

  it('refuses a jwks_uri over http to another host, and accepts http on loopback outside production', async () => {
    expectRefused(
      await cli.run(keyedClient('http://keys.example.com/jwks.json', 'ES256')),
      /^tessera: --jwks-uri: "http:\/\/keys\.example\.com\/jwks\.json" must use https \(http is allowed only on loopback\)$/m,
    );
    expectRefused(await cli.run(keyedClient('not a url', 'ES256')), /^tessera: --jwks-uri/m);
    // A developer's key server on this machine.
    const local = await cli.run(
      keyedClient('http://127.0.0.1:8080/jwks.json', 'ES256', ['--json']),
    );
    expect(local.code, local.stderr).toBe(0);
    expect(JSON.parse(local.stdout).jwks_uri).toBe('http://127.0.0.1:8080/jwks.json');
  });

  it('in production, refuses http even on loopback, and any internal address', async () => {
    expectRefused(
      await production.run(keyedClient('http://127.0.0.1:8080/jwks.json', 'ES256')),
      /^tessera: --jwks-uri must be https$/m,
    );
    for (const uri of ['https://10.0.0.1/jwks.json', 'https://localhost/jwks.json']) {
      expectRefused(
        await production.run(keyedClient(uri, 'ES256')),
        /^tessera: --jwks-uri must not point at a loopback, private or link-local address$/m,
      );
    }
    const made = await production.run(
      keyedClient('https://keys.example.com/jwks.json', 'PS256', ['--json']),
    );
    expect(made.code, made.stderr).toBe(0);
    expect(JSON.parse(made.stdout)).toMatchObject({
      jwks_uri: 'https://keys.example.com/jwks.json',
      token_endpoint_auth_signing_alg: 'PS256',
    });
  });
});
