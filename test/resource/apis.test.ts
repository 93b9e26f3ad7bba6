import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { createApi } from '../../src/domain/apis.js';
import {
  createTokenVerifier,
  type ResourceOptions,
  TokenError,
  type TokenVerifier,
} from '../../src/resource/index.js';
import { type RunningServer, startServer } from '../helpers/app.js';
import { makeClient, postAsClient, type TestClient } from '../helpers/oauth.js';
import { callApi, startApi } from '../helpers/resource.js';

/*
 * The kit with registered APIs (RFC 8707): each API has its identifier, tokens for it carry that
 * identifier as `aud`, and it introspects with its own credentials, seeing only its own tokens.
 */
describe('tessera/resource with registered APIs', () => {
  const NOTES = 'https://notes.example.com/api';
  const TODO = 'https://todo.example.com/mcp';
  let tessera: RunningServer;
  let ctx: AppContext;
  let app: TestClient;
  let notes: ResourceOptions;
  let todo: ResourceOptions;

  beforeAll(async () => {
    tessera = await startServer();
    ctx = tessera.app.tessera;
    const n = await createApi(ctx, { identifier: NOTES, name: 'Notes', scopes: ['notes:read'] });
    const t = await createApi(ctx, {
      identifier: TODO,
      name: 'Todo',
      scopes: ['todo:read'],
      accessTokenFormat: 'opaque',
    });
    app = await makeClient(ctx, {
      grantTypes: ['client_credentials'],
      scopes: [],
      allowedResources: [NOTES, TODO],
    });
    notes = {
      issuer: tessera.url,
      resource: NOTES,
      introspection: { clientId: n.api.clientId, clientSecret: n.secret },
    };
    todo = {
      issuer: tessera.url,
      resource: TODO,
      introspection: { clientId: t.api.clientId, clientSecret: t.secret },
    };
  });
  afterAll(async () => tessera?.close());

  const token = async (resource: string, scope: string) => {
    const res = await postAsClient(tessera.url, '/token', app, {
      grant_type: 'client_credentials',
      resource,
      scope,
    });
    expect(res.status, res.text).toBe(200);
    return String(res.body.access_token);
  };
  const refusal = async (v: TokenVerifier, t: string) => {
    const error = await v.verify(t).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TokenError);
    return error as TokenError;
  };

  it('accepts a JWT for its identifier, and the API in front of it says so in its metadata', async () => {
    const t = await token(NOTES, 'notes:read');
    const info = await createTokenVerifier(notes).verify(t, ['notes:read']);
    expect(info).toMatchObject({ clientId: app.client.id, scopes: ['notes:read'] });
    expect(info.extra.claims.aud).toBe(NOTES);
    expect(info.resource?.href).toBe(NOTES);
    const api = await startApi('fastify', notes);
    try {
      const res = await callApi(api, '/read', { authorization: `Bearer ${t}` });
      // The test API's /read needs notes:read.
      expect(res.status, res.text).toBe(200);
      const none = await callApi(api, '/read');
      expect(none.headers.get('www-authenticate')).toBe(
        'Bearer resource_metadata="https://notes.example.com/.well-known/oauth-protected-resource/api"',
      );
    } finally {
      await api.close();
    }
  });

  it('refuses a token meant for another API, JWT or opaque', async () => {
    const forNotes = await token(NOTES, 'notes:read');
    const e = await refusal(createTokenVerifier(todo), forNotes);
    expect(e.message).toBe('the access token is not meant for this resource (aud)');
    // The issuer's default audience is not an API's either.
    await refusal(createTokenVerifier({ issuer: tessera.url, resource: tessera.url }), forNotes);
    // An opaque token for Todo, introspected by Notes: Tessera tells Notes nothing about it.
    const forTodo = await token(TODO, 'todo:read');
    const inactive = await refusal(createTokenVerifier(notes), forTodo);
    expect(inactive.message).toMatch(/not active/);
  });

  it('accepts an opaque token by introspection with the API’s own credentials', async () => {
    const t = await token(TODO, 'todo:read');
    expect(t.split('.')).toHaveLength(1);
    const info = await createTokenVerifier(todo).verify(t, ['todo:read']);
    expect(info).toMatchObject({ clientId: app.client.id, scopes: ['todo:read'] });
    expect(info.extra.claims.aud).toBe(TODO);
  });
});
