import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDemo } from '../../src/cli/demo.js';
import { updateClient, verifyClientSecret } from '../../src/domain/clients.js';
import { testApp } from '../helpers/app.js';
import { authenticate } from '../helpers/passwords.js';

/** What `tessera start --demo` prints, read back. */
function credentials(lines: string[]) {
  const text = lines.join('\n');
  return {
    password: /password: (\S+)/.exec(text)![1]!,
    clientId: /client_id:\s+(\S+)/.exec(text)![1]!,
    secret: /client_secret: (\S+)/.exec(text)![1]!,
  };
}

describe('the demo user and client (start --demo)', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await testApp();
  });
  afterAll(async () => app.close());

  const demoClients = async () =>
    (await app.tessera.store.clients.list()).filter((c) => c.name === 'Demo app');

  it('creates them once and gives them fresh credentials on every start', async () => {
    const first = credentials(await createDemo(app.tessera));
    const second = credentials(await createDemo(app.tessera));

    expect(await app.tessera.store.users.count()).toBe(1);
    expect(await demoClients()).toHaveLength(1);
    expect(second.clientId).toBe(first.clientId);

    expect(await authenticate(app.tessera, 'demo', first.password)).toBeUndefined();
    expect(await authenticate(app.tessera, 'demo@example.com', second.password)).toBeDefined();

    const client = (await app.tessera.store.clients.findById(second.clientId))!;
    expect(verifyClientSecret(client, first.secret)).toBe(false);
    expect(verifyClientSecret(client, second.secret)).toBe(true);
    expect(client).toMatchObject({
      type: 'confidential',
      redirectUris: ['http://localhost:3000/callback'],
      grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'],
    });
  });

  it('restores a demo client that someone made public', async () => {
    const [client] = await demoClients();
    await updateClient(app.tessera, client!.id, {
      type: 'public',
      grantTypes: ['authorization_code'],
    });
    const again = credentials(await createDemo(app.tessera));
    const restored = (await app.tessera.store.clients.findById(again.clientId))!;
    expect(restored.type).toBe('confidential');
    expect(restored.grantTypes).toContain('client_credentials');
    expect(verifyClientSecret(restored, again.secret)).toBe(true);
  });
});
