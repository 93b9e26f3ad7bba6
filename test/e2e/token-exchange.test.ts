import { decodeJwt } from 'jose';
import * as oauth from 'oauth4webapi';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import { ACCESS_TOKEN_TYPE, ID_TOKEN_TYPE, TOKEN_EXCHANGE } from '../../src/domain/client-rules.js';
import { findGrantOfUser, revokeGrant } from '../../src/domain/grants.js';
import { endSessionsOfUser } from '../../src/domain/sessions.js';
import type { Client, User } from '../../src/store/types.js';
import { type RunningServer, startServer } from '../helpers/app.js';
import { dpopKey, makeProof } from '../helpers/dpop.js';
import { type ExternalIssuer, startExternalIssuer } from '../helpers/external-issuer.js';
import {
  expectOAuthError,
  introspect,
  makeClient,
  makeUser,
  obtainTokens,
  postAsClient,
  type TestClient,
  userinfo,
} from '../helpers/oauth.js';
import { storeFactories, type TestStore } from '../helpers/stores.js';

const API_B = 'https://api-b.example.com';
const EXTERNAL_AUDIENCE = 'tessera-backend-at-idp';

for (const factory of storeFactories()) {
  /**
   * RFC 8693 against a listening Tessera: openid-client's genericGrantRequest for what works, plain
   * requests for every refusal. The trusted issuers are a second Tessera (its ID tokens got
   * through a real sign-in there, its keys found through its discovery document) and a small
   * jose-signed provider on a loopback port (its keys at a configured jwks_uri), which can make
   * the ID tokens no one should trust.
   */
  describe(`token exchange (${factory.name})`, () => {
    let testStore: TestStore;
    let other: RunningServer; // the second Tessera, a trusted issuer
    let idp: ExternalIssuer;
    let server: RunningServer;
    let ctx: AppContext;
    let frontAtOther: TestClient; // the front end's client at the other Tessera
    let web: TestClient; // the app the person signed in to here
    let apiA: TestClient; // an API that calls API B for the person
    let service: TestClient; // a service whose own token is an actor token
    let backend: TestClient; // the backend that trades ID tokens for Tessera tokens
    let person: User;
    let linked: User;
    // Real time, which a test can move forward.
    const clock = { offsetMs: 0, now: () => Date.now() + clock.offsetMs };

    beforeAll(async () => {
      testStore = await factory.open();
      other = await startServer();
      frontAtOther = await makeClient(other.app.tessera, { name: 'Front end at the other' });
      idp = await startExternalIssuer(EXTERNAL_AUDIENCE);
      server = await startServer({
        store: testStore.store,
        clock,
        env: {
          TESSERA_TRUSTED_ISSUERS: JSON.stringify([
            { issuer: other.url, audience: frontAtOther.client.id },
            { issuer: idp.issuer, audience: EXTERNAL_AUDIENCE, jwks_uri: idp.jwksUri },
            // Its discovery document is not found: its keys cannot be located.
            { issuer: `${idp.issuer}/broken`, audience: EXTERNAL_AUDIENCE },
          ]),
        },
      });
      ctx = server.app.tessera;
      web = await makeClient(ctx, {
        scopes: ['openid', 'profile', 'email', 'offline_access', 'orders:read', 'orders:write'],
      });
      apiA = await makeClient(ctx, {
        name: 'API A',
        grantTypes: [TOKEN_EXCHANGE],
        redirectUris: [],
        scopes: ['openid', 'profile', 'orders:read', 'orders:write'],
        tokenExchangeAudiences: [API_B],
      });
      service = await makeClient(ctx, {
        name: 'Service',
        grantTypes: ['client_credentials', TOKEN_EXCHANGE],
        redirectUris: [],
        scopes: ['jobs', 'orders:read', 'orders:write'],
        tokenExchangeAudiences: [apiA.client.id],
      });
      backend = await makeClient(ctx, {
        name: 'Backend',
        grantTypes: [TOKEN_EXCHANGE],
        redirectUris: [],
        scopes: ['openid', 'profile', 'email', 'orders:read'],
        tokenExchangeSubjectTokenTypes: [ID_TOKEN_TYPE],
        tokenExchangeTrustedIssuers: [other.url, idp.issuer, `${idp.issuer}/broken`],
      });
      person = (await makeUser(ctx)).user;
      linked = (await makeUser(ctx)).user;
    });
    afterAll(async () => {
      await server?.close();
      await other?.close();
      await idp?.close();
      await testStore?.cleanup();
    });

    /** The person's tokens from a code flow at `web`, with every scope web may have. */
    const personTokens = (user = person) =>
      obtainTokens(server.url, ctx, web, user, {
        scope: 'openid profile email offline_access orders:read orders:write',
      });

    async function rpFor(tc: TestClient): Promise<oidc.Configuration> {
      return oidc.discovery(
        new URL(server.url),
        tc.client.id,
        {},
        oidc.ClientSecretBasic(tc.secret!),
        { execute: [oidc.allowInsecureRequests] },
      );
    }

    const exchange = (tc: TestClient, form: Record<string, string | undefined>) =>
      postAsClient(server.url, '/token', tc, { grant_type: TOKEN_EXCHANGE, ...form });

    describe('an access token as the subject', () => {
      it('is advertised in discovery', async () => {
        const config = await rpFor(apiA);
        expect(config.serverMetadata().grant_types_supported).toContain(TOKEN_EXCHANGE);
      });

      it('gives a narrower scope, with act naming the exchanging client, and no refresh token', async () => {
        const tokens = await personTokens();
        const config = await rpFor(apiA);
        const answer = await oidc.genericGrantRequest(config, TOKEN_EXCHANGE, {
          subject_token: tokens.access_token,
          subject_token_type: ACCESS_TOKEN_TYPE,
          scope: 'orders:read',
        });
        expect(answer.issued_token_type).toBe(ACCESS_TOKEN_TYPE);
        expect(answer.token_type).toBe('bearer');
        expect(answer.scope).toBe('orders:read');
        expect(answer.expires_in).toBe(ctx.config.accessTokenTtl);
        expect(answer.refresh_token).toBeUndefined();
        expect(answer.id_token).toBeUndefined();
        const claims = decodeJwt(answer.access_token);
        expect(claims).toMatchObject({
          iss: server.url,
          sub: person.id,
          aud: server.url,
          client_id: apiA.client.id,
          scope: 'orders:read',
          act: { sub: apiA.client.id },
        });
        const seen = await introspect(server.url, apiA, answer.access_token);
        expect(seen.body).toMatchObject({
          active: true,
          sub: person.id,
          scope: 'orders:read',
          client_id: apiA.client.id,
          act: { sub: apiA.client.id },
        });
      });

      it('works with oauth4webapi’s generic token endpoint request, refusals included', async () => {
        const insecure = { [oauth.allowInsecureRequests]: true };
        const issuer = new URL(server.url);
        const as = await oauth.processDiscoveryResponse(
          issuer,
          await oauth.discoveryRequest(issuer, insecure),
        );
        const client: oauth.Client = { client_id: apiA.client.id };
        const auth = oauth.ClientSecretBasic(apiA.secret!);
        const tokens = await personTokens();
        const request = (parameters: Record<string, string>) =>
          oauth.genericTokenEndpointRequest(as, client, auth, TOKEN_EXCHANGE, parameters, insecure);
        const answer = await oauth.processGenericTokenEndpointResponse(
          as,
          client,
          await request({
            subject_token: tokens.access_token,
            subject_token_type: ACCESS_TOKEN_TYPE,
            audience: API_B,
            scope: 'orders:read',
          }),
        );
        expect(answer).toMatchObject({
          issued_token_type: ACCESS_TOKEN_TYPE,
          token_type: 'bearer',
          scope: 'orders:read',
        });
        expect(decodeJwt(answer.access_token)).toMatchObject({ aud: API_B, sub: person.id });
        const refused = await oauth
          .processGenericTokenEndpointResponse(
            as,
            client,
            await request({
              subject_token: tokens.access_token,
              subject_token_type: ACCESS_TOKEN_TYPE,
              audience: 'https://api-c.example.com',
            }),
          )
          .catch((error: unknown) => error);
        expect(refused).toBeInstanceOf(oauth.ResponseBodyError);
        expect((refused as oauth.ResponseBodyError).error).toBe('invalid_target');
      });

      it('keeps the subject token’s scope (within the client’s) when none is asked for', async () => {
        const tokens = await personTokens();
        const answer = await exchange(apiA, {
          subject_token: tokens.access_token,
          subject_token_type: ACCESS_TOKEN_TYPE,
        });
        expect(answer.status).toBe(200);
        // email and offline_access are the subject's but not API A's to have.
        expect(answer.body.scope).toBe('openid profile orders:read orders:write');
      });

      it('gives a token for another audience the client’s policy lists, which userinfo refuses', async () => {
        const tokens = await personTokens();
        const answer = await oidc.genericGrantRequest(await rpFor(apiA), TOKEN_EXCHANGE, {
          subject_token: tokens.access_token,
          subject_token_type: ACCESS_TOKEN_TYPE,
          requested_token_type: ACCESS_TOKEN_TYPE,
          audience: API_B,
          scope: 'openid orders:read',
        });
        expect(decodeJwt(answer.access_token).aud).toBe(API_B);
        expect((await introspect(server.url, apiA, answer.access_token)).body).toMatchObject({
          active: true,
          aud: API_B,
        });
        const refused = await userinfo(server.url, answer.access_token);
        expect(refused.status).toBe(401);
        expect(refused.headers.get('www-authenticate')).toContain('invalid_token');
        // The same target named as a resource (RFC 8707) is the same audience.
        const byResource = await exchange(apiA, {
          subject_token: tokens.access_token,
          subject_token_type: ACCESS_TOKEN_TYPE,
          resource: API_B,
        });
        expect(byResource.status).toBe(200);
        expect(decodeJwt(byResource.body.access_token as string).aud).toBe(API_B);
      });

      it('delegates: the actor token’s subject is the actor, and earlier actors nest in act', async () => {
        const tokens = await personTokens();
        // The service is the one exchanging; its own token names it as the actor.
        const serviceToken = await oidc.clientCredentialsGrant(await rpFor(service), {
          scope: 'jobs',
        });
        const first = await oidc.genericGrantRequest(await rpFor(service), TOKEN_EXCHANGE, {
          subject_token: tokens.access_token,
          subject_token_type: ACCESS_TOKEN_TYPE,
          actor_token: serviceToken.access_token,
          actor_token_type: ACCESS_TOKEN_TYPE,
          audience: apiA.client.id,
          scope: 'orders:read orders:write',
        });
        expect(decodeJwt(first.access_token)).toMatchObject({
          aud: apiA.client.id,
          act: { sub: service.client.id },
        });
        expect((await introspect(server.url, service, first.access_token)).body.act).toEqual({
          sub: service.client.id,
        });
        // API A, the token's audience, passes it on: the new actor is API A, the service nested.
        const second = await oidc.genericGrantRequest(await rpFor(apiA), TOKEN_EXCHANGE, {
          subject_token: first.access_token,
          subject_token_type: ACCESS_TOKEN_TYPE,
          audience: API_B,
          scope: 'orders:read',
        });
        expect(decodeJwt(second.access_token)).toMatchObject({
          sub: person.id,
          aud: API_B,
          act: { sub: apiA.client.id, act: { sub: service.client.id } },
        });
      });

      it('refuses actor tokens the client was not issued, and the subject as its own actor', async () => {
        const tokens = await personTokens();
        const serviceToken = await oidc.clientCredentialsGrant(await rpFor(service), {
          scope: 'jobs',
        });
        // Another client's token, another person's token given to another app, the subject's own.
        for (const actor of [
          serviceToken.access_token,
          (await personTokens(linked)).access_token,
          tokens.access_token,
        ]) {
          const refused = await exchange(apiA, {
            subject_token: tokens.access_token,
            subject_token_type: ACCESS_TOKEN_TYPE,
            actor_token: actor,
            actor_token_type: ACCESS_TOKEN_TYPE,
          });
          expectOAuthError(refused, 400, 'invalid_request');
          expect(refused.body.error_description).toContain('issued to another client');
        }
      });

      it('never widens an audience: a token meant for one API is exchanged only by it, and not back to the default', async () => {
        const tokens = await personTokens();
        const forB = await exchange(apiA, {
          subject_token: tokens.access_token,
          subject_token_type: ACCESS_TOKEN_TYPE,
          audience: API_B,
        });
        expect(forB.status).toBe(200);
        const tokenForB = forB.body.access_token as string;
        expect((await userinfo(server.url, tokenForB)).status).toBe(401);
        // Another exchanging client, with no audience on its policy, asks for the default audience.
        const other = await makeClient(ctx, {
          grantTypes: [TOKEN_EXCHANGE],
          redirectUris: [],
          scopes: ['openid', 'profile', 'orders:read'],
        });
        for (const client of [other, apiA]) {
          const refused = await exchange(client, {
            subject_token: tokenForB,
            subject_token_type: ACCESS_TOKEN_TYPE,
          });
          expectOAuthError(refused, 400, 'invalid_request');
          expect(refused.body.error_description).toContain('meant for another audience');
        }
        // A token for API A, exchanged by API A without a target, stays a token for API A;
        // the default audience is not on its policy.
        const forA = await exchange(service, {
          subject_token: tokens.access_token,
          subject_token_type: ACCESS_TOKEN_TYPE,
          audience: apiA.client.id,
        });
        const tokenForA = forA.body.access_token as string;
        const again = await exchange(apiA, {
          subject_token: tokenForA,
          subject_token_type: ACCESS_TOKEN_TYPE,
          scope: 'orders:read',
        });
        expect(again.status).toBe(200);
        expect(decodeJwt(again.body.access_token as string).aud).toBe(apiA.client.id);
        expectOAuthError(
          await exchange(apiA, {
            subject_token: tokenForA,
            subject_token_type: ACCESS_TOKEN_TYPE,
            audience: server.url,
          }),
          400,
          'invalid_target',
        );
      });

      it('shows act in the introspection of an opaque exchanged token', async () => {
        const opaque = await makeClient(ctx, {
          grantTypes: [TOKEN_EXCHANGE],
          redirectUris: [],
          scopes: ['orders:read'],
          accessTokenFormat: 'opaque',
        });
        const tokens = await personTokens();
        const answer = await exchange(opaque, {
          subject_token: tokens.access_token,
          subject_token_type: ACCESS_TOKEN_TYPE,
        });
        expect(answer.status).toBe(200);
        expect((answer.body.access_token as string).split('.')).toHaveLength(1);
        expect(
          (await introspect(server.url, opaque, answer.body.access_token as string)).body,
        ).toMatchObject({ active: true, sub: person.id, act: { sub: opaque.client.id } });
      });

      it('binds the new token to the key of a DPoP proof, and refuses DPoP-bound tokens as subject or actor', async () => {
        const key = await dpopKey();
        const tokenUrl = `${server.url}/token`;
        const tokens = await personTokens();
        const auth = `Basic ${Buffer.from(`${apiA.client.id}:${apiA.secret}`).toString('base64')}`;
        const post = async (form: Record<string, string>) => {
          const res = await fetch(tokenUrl, {
            method: 'POST',
            headers: {
              'content-type': 'application/x-www-form-urlencoded',
              authorization: auth,
              dpop: await makeProof(key, { htu: tokenUrl }),
            },
            body: new URLSearchParams({ grant_type: TOKEN_EXCHANGE, ...form }),
          });
          return { status: res.status, body: (await res.json()) as Record<string, unknown> };
        };
        const bound = await post({
          subject_token: tokens.access_token,
          subject_token_type: ACCESS_TOKEN_TYPE,
          scope: 'orders:read',
        });
        expect(bound.status).toBe(200);
        expect(bound.body.token_type).toBe('DPoP');
        const boundToken = bound.body.access_token as string;
        expect(decodeJwt(boundToken).cnf).toEqual({ jkt: key.jkt });
        // Whoever holds a bound token without its key must not get an unbound one for it.
        const asSubject = await exchange(apiA, {
          subject_token: boundToken,
          subject_token_type: ACCESS_TOKEN_TYPE,
        });
        expectOAuthError(asSubject, 400, 'invalid_request');
        expect(asSubject.body.error_description).toContain('DPoP-bound');
        const asActor = await exchange(apiA, {
          subject_token: tokens.access_token,
          subject_token_type: ACCESS_TOKEN_TYPE,
          actor_token: boundToken,
          actor_token_type: ACCESS_TOKEN_TYPE,
        });
        expectOAuthError(asActor, 400, 'invalid_request');
        expect(asActor.body.error_description).toContain('DPoP-bound');
      });

      it('never gives offline_access: an exchange issues no refresh token', async () => {
        const wide = await makeClient(ctx, {
          grantTypes: [TOKEN_EXCHANGE],
          redirectUris: [],
          scopes: ['openid', 'offline_access', 'orders:read'],
        });
        const tokens = await personTokens();
        const answer = await exchange(wide, {
          subject_token: tokens.access_token,
          subject_token_type: ACCESS_TOKEN_TYPE,
        });
        expect(answer.body.scope).toBe('openid orders:read');
        expectOAuthError(
          await exchange(wide, {
            subject_token: tokens.access_token,
            subject_token_type: ACCESS_TOKEN_TYPE,
            scope: 'openid offline_access',
          }),
          400,
          'invalid_scope',
        );
      });

      it('lets the resource server an exchanged token is for introspect it, and no other', async () => {
        const billing = await makeClient(ctx, {
          name: 'Billing API',
          grantTypes: ['client_credentials'],
          redirectUris: [],
          resourceServer: true,
        });
        const payroll = await makeClient(ctx, {
          grantTypes: ['client_credentials'],
          redirectUris: [],
          resourceServer: true,
        });
        const caller = await makeClient(ctx, {
          grantTypes: [TOKEN_EXCHANGE],
          redirectUris: [],
          scopes: ['orders:read'],
          accessTokenFormat: 'opaque',
          tokenExchangeAudiences: [billing.client.id],
        });
        const tokens = await personTokens();
        const answer = await exchange(caller, {
          subject_token: tokens.access_token,
          subject_token_type: ACCESS_TOKEN_TYPE,
          audience: billing.client.id,
        });
        const exchanged = answer.body.access_token as string;
        expect((await introspect(server.url, billing, exchanged)).body).toMatchObject({
          active: true,
          aud: billing.client.id,
          act: { sub: caller.client.id },
        });
        expect((await introspect(server.url, payroll, exchanged)).body).toEqual({ active: false });
      });

      it('ends with the person’s grant: revoking the app revokes the exchanged tokens', async () => {
        const user = (await makeUser(ctx)).user;
        const tokens = await personTokens(user);
        const answer = await exchange(apiA, {
          subject_token: tokens.access_token,
          subject_token_type: ACCESS_TOKEN_TYPE,
          scope: 'orders:read',
        });
        const exchanged = answer.body.access_token as string;
        expect((await introspect(server.url, apiA, exchanged)).body.active).toBe(true);
        const grant = await findGrantOfUser(ctx, user.id, { clientId: web.client.id });
        await revokeGrant(ctx, grant!, { by: 'self' });
        expect((await introspect(server.url, apiA, exchanged)).body).toEqual({ active: false });
        // And an exchanged token cannot be exchanged again once its grant is gone.
        expectOAuthError(
          await exchange(apiA, { subject_token: exchanged, subject_token_type: ACCESS_TOKEN_TYPE }),
          400,
          'invalid_request',
        );
      });

      it('ends with the app the subject token was issued to: deleting it deletes the exchanged tokens', async () => {
        const app = await makeClient(ctx, { scopes: ['openid', 'orders:read'] });
        const tokens = await obtainTokens(server.url, ctx, app, person, {
          scope: 'openid orders:read',
        });
        const answer = await exchange(apiA, {
          subject_token: tokens.access_token,
          subject_token_type: ACCESS_TOKEN_TYPE,
        });
        const exchanged = answer.body.access_token as string;
        expect((await introspect(server.url, apiA, exchanged)).body.active).toBe(true);
        const deleted = await server.app.inject({
          method: 'DELETE',
          url: `/admin/api/clients/${app.client.id}`,
          headers: { 'x-admin-key': ctx.config.adminKey! },
        });
        expect(deleted.statusCode).toBe(204);
        expect((await introspect(server.url, apiA, exchanged)).body).toEqual({ active: false });
      });

      it('ends with the person’s sessions, as the tokens it was made from do', async () => {
        const user = (await makeUser(ctx)).user;
        // Without offline_access the tokens belong to the session they were issued in.
        const tokens = await obtainTokens(server.url, ctx, web, user, {
          scope: 'openid orders:read',
        });
        const answer = await exchange(apiA, {
          subject_token: tokens.access_token,
          subject_token_type: ACCESS_TOKEN_TYPE,
        });
        const exchanged = answer.body.access_token as string;
        const before = await introspect(server.url, apiA, exchanged);
        expect(before.body.active).toBe(true);
        expect(before.body.sid).toBe(decodeJwt(tokens.access_token).sid);
        await endSessionsOfUser(ctx, user.id, { by: 'self', reason: 'ended' });
        expect((await introspect(server.url, web, tokens.access_token)).body.active).toBe(false);
        expect((await introspect(server.url, apiA, exchanged)).body.active).toBe(false);
      });
    });

    describe('an ID token of a trusted issuer as the subject', () => {
      it('trades the other Tessera’s ID token, got through a real sign-in there, for this person’s tokens', async () => {
        const { user: there } = await makeUser(other.app.tessera);
        const theirs = await obtainTokens(other.url, other.app.tessera, frontAtOther, there);
        expect(theirs.id_token).toBeDefined();
        const here = (await makeUser(ctx)).user;
        const link = await server.app.inject({
          method: 'POST',
          url: `/admin/api/users/${here.id}/identities`,
          headers: { 'x-admin-key': ctx.config.adminKey! },
          payload: { issuer: other.url, subject: there.id },
        });
        expect(link.statusCode).toBe(201);
        const answer = await oidc.genericGrantRequest(await rpFor(backend), TOKEN_EXCHANGE, {
          subject_token: theirs.id_token!,
          subject_token_type: ID_TOKEN_TYPE,
          scope: 'openid profile orders:read',
        });
        expect(answer.issued_token_type).toBe(ACCESS_TOKEN_TYPE);
        expect(answer.scope).toBe('openid profile orders:read');
        expect(answer.refresh_token).toBeUndefined();
        expect(decodeJwt(answer.access_token)).toMatchObject({
          sub: here.id,
          client_id: backend.client.id,
          act: { sub: backend.client.id },
        });
        // A person's scopes work, since there is a person: userinfo answers for them.
        const info = await userinfo(server.url, answer.access_token);
        expect(info.status).toBe(200);
        expect(info.body.sub).toBe(here.id);
      });

      it('trades the small provider’s ID token, and honours its may_act', async () => {
        await ctx.store.externalIdentities.link({
          issuer: idp.issuer,
          subject: 'external-person-1',
          userId: linked.id,
          createdAt: Math.floor(Date.now() / 1000),
        });
        const idToken = await idp.idToken({});
        const answer = await exchange(backend, {
          subject_token: idToken,
          subject_token_type: ID_TOKEN_TYPE,
          scope: 'orders:read',
        });
        expect(answer.status).toBe(200);
        expect(decodeJwt(answer.body.access_token as string).sub).toBe(linked.id);
        // Traded once: the same ID token again is refused for the rest of its life.
        const again = await exchange(backend, {
          subject_token: idToken,
          subject_token_type: ID_TOKEN_TYPE,
          scope: 'orders:read',
        });
        expectOAuthError(again, 400, 'invalid_request');
        expect(again.body.error_description).toContain('exchanged before');
        // Nor spelt another way: the last character's unused bits changed, the signature the same.
        const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
        const last = alphabet.indexOf(idToken.at(-1)!);
        const respelt = idToken.slice(0, -1) + alphabet[last ^ 1];
        const respeltAgain = await exchange(backend, {
          subject_token: respelt,
          subject_token_type: ID_TOKEN_TYPE,
          scope: 'orders:read',
        });
        expectOAuthError(respeltAgain, 400, 'invalid_request');
        expect(respeltAgain.body.error_description).toContain('exchanged before');
        // A refused exchange does not spend an ID token: this one is refused for its scope first.
        const fresh = await idp.idToken({});
        expectOAuthError(
          await exchange(backend, {
            subject_token: fresh,
            subject_token_type: ID_TOKEN_TYPE,
            scope: 'orders:write',
          }),
          400,
          'invalid_scope',
        );
        const afterRefusal = await exchange(backend, {
          subject_token: fresh,
          subject_token_type: ID_TOKEN_TYPE,
          scope: 'orders:read',
        });
        expect(afterRefusal.status).toBe(200);
        const allowed = await exchange(backend, {
          subject_token: await idp.idToken({ may_act: { sub: backend.client.id } }),
          subject_token_type: ID_TOKEN_TYPE,
          scope: 'orders:read',
        });
        expect(allowed.status).toBe(200);
        const refused = await exchange(backend, {
          subject_token: await idp.idToken({ may_act: { sub: 'someone-else' } }),
          subject_token_type: ID_TOKEN_TYPE,
          scope: 'orders:read',
        });
        expectOAuthError(refused, 400, 'invalid_request');
        expect(refused.body.error_description).toContain('may_act');
      });

      it('caches the provider’s keys instead of fetching them for every exchange', async () => {
        const before = idp.jwksFetches();
        for (let i = 0; i < 3; i++) {
          const answer = await exchange(backend, {
            subject_token: await idp.idToken({}),
            subject_token_type: ID_TOKEN_TYPE,
            scope: 'openid',
          });
          expect(answer.status).toBe(200);
        }
        expect(idp.jwksFetches() - before).toBeLessThanOrEqual(1);
      });

      it('refuses an ID token whose issuer’s keys cannot be located, and does not ask again at once', async () => {
        const token = await idp.idToken({ iss: `${idp.issuer}/broken` });
        const before = idp.requests();
        for (let i = 0; i < 3; i++) {
          const answer = await exchange(backend, {
            subject_token: token,
            subject_token_type: ID_TOKEN_TYPE,
          });
          expectOAuthError(answer, 400, 'invalid_request');
          expect(answer.body.error_description).toContain('could not be fetched');
        }
        expect(idp.requests() - before).toBe(1);
      });

      const refusals: [string, () => Promise<string>, string][] = [
        ['an untrusted issuer', async () => untrusted(), 'is not trusted here'],
        ['a wrong aud', () => idp.idToken({ aud: 'someone-else' }), '"aud"'],
        [
          'an expired ID token',
          async () => idp.idToken({ iat: now() - 600, exp: now() - 60 }),
          'expired',
        ],
        [
          'an iat in the future',
          () => idp.idToken({ iat: now() + 3600, exp: now() + 7200 }),
          '"iat"',
        ],
        ['a symmetric signature', () => idp.idToken({}, { alg: 'HS256' }), 'asymmetric'],
        [
          'a key the issuer never published',
          () => idp.idToken({}, { key: 'stranger' }),
          'signature',
        ],
        ['no sub', () => idp.idToken({ sub: undefined }), '"sub"'],
        ['garbage', async () => 'not.a.jwt', 'JWT'],
        [
          'an unlinked identity',
          () => idp.idToken({ sub: 'nobody-linked' }),
          'no local account is linked',
        ],
      ];
      for (const [name, token, says] of refusals) {
        it(`refuses ${name} with invalid_request`, async () => {
          const answer = await exchange(backend, {
            subject_token: await token(),
            subject_token_type: ID_TOKEN_TYPE,
          });
          expectOAuthError(answer, 400, 'invalid_request');
          expect(answer.body.error_description).toContain(says);
        });
      }

      it('refuses ID tokens to a client whose policy does not take them, or not from that issuer', async () => {
        const token = await idp.idToken({});
        const noIdTokens = await exchange(apiA, {
          subject_token: token,
          subject_token_type: ID_TOKEN_TYPE,
        });
        expectOAuthError(noIdTokens, 400, 'invalid_request');
        expect(noIdTokens.body.error_description).toContain('may not exchange subject tokens');
        const otherIssuerOnly = await makeClient(ctx, {
          grantTypes: [TOKEN_EXCHANGE],
          redirectUris: [],
          tokenExchangeSubjectTokenTypes: [ID_TOKEN_TYPE],
          tokenExchangeTrustedIssuers: [other.url],
        });
        const wrongIssuer = await exchange(otherIssuerOnly, {
          subject_token: token,
          subject_token_type: ID_TOKEN_TYPE,
        });
        expectOAuthError(wrongIssuer, 400, 'invalid_request');
        expect(wrongIssuer.body.error_description).toContain(
          'may not exchange ID tokens issued by',
        );
      });

      it('refuses a scope beyond the client’s', async () => {
        const answer = await exchange(backend, {
          subject_token: await idp.idToken({}),
          subject_token_type: ID_TOKEN_TYPE,
          scope: 'openid orders:write',
        });
        expectOAuthError(answer, 400, 'invalid_scope');
      });
    });

    describe('refusals', () => {
      let subject: string;
      beforeAll(async () => {
        subject = (await personTokens()).access_token;
      });

      it('refuses a scope wider than the subject token’s with invalid_scope', async () => {
        const narrow = await exchange(apiA, {
          subject_token: subject,
          subject_token_type: ACCESS_TOKEN_TYPE,
          scope: 'orders:read',
        });
        const widened = await exchange(apiA, {
          subject_token: narrow.body.access_token as string,
          subject_token_type: ACCESS_TOKEN_TYPE,
          scope: 'orders:read orders:write',
        });
        expectOAuthError(widened, 400, 'invalid_scope');
        expect(widened.body.error_description).toContain('orders:write');
        // Nor beyond what the exchanging client may ask for (email is the subject's).
        expectOAuthError(
          await exchange(apiA, {
            subject_token: subject,
            subject_token_type: ACCESS_TOKEN_TYPE,
            scope: 'email',
          }),
          400,
          'invalid_scope',
        );
      });

      it('refuses an audience or resource the client’s policy does not list with invalid_target', async () => {
        for (const target of [
          { audience: 'https://api-c.example.com' },
          { resource: 'https://api-c.example.com' },
          { resource: 'not a uri' },
          { resource: `${API_B}#fragment` },
          { audience: API_B, resource: 'https://api-c.example.com' },
        ]) {
          const answer = await exchange(apiA, {
            subject_token: subject,
            subject_token_type: ACCESS_TOKEN_TYPE,
            ...target,
          });
          expectOAuthError(answer, 400, 'invalid_target');
        }
        const twice = new URLSearchParams({
          grant_type: TOKEN_EXCHANGE,
          subject_token: subject,
          subject_token_type: ACCESS_TOKEN_TYPE,
        });
        twice.append('audience', API_B);
        twice.append('audience', 'https://api-c.example.com');
        const res = await fetch(`${server.url}/token`, {
          method: 'POST',
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            authorization: `Basic ${Buffer.from(`${apiA.client.id}:${apiA.secret}`).toString('base64')}`,
          },
          body: twice,
        });
        expect(res.status).toBe(400);
        expect(((await res.json()) as { error: string }).error).toBe('invalid_target');
      });

      it('refuses revoked, expired, garbage and client-own subject tokens with invalid_request', async () => {
        const revoked = (await personTokens()).access_token;
        const r = await postAsClient(server.url, '/revoke', web, { token: revoked });
        expect(r.status).toBe(200);
        const expired = (await personTokens()).access_token;
        const expiredOpaque = await exchange(
          await makeClient(ctx, {
            grantTypes: [TOKEN_EXCHANGE],
            redirectUris: [],
            scopes: ['orders:read'],
            accessTokenFormat: 'opaque',
          }),
          { subject_token: subject, subject_token_type: ACCESS_TOKEN_TYPE },
        );
        // The server's clock moves past the lifetime of the tokens above; `subject` is made anew.
        clock.offsetMs += (ctx.config.accessTokenTtl + 1) * 1000;
        subject = (await personTokens()).access_token;
        const clientOwn = (await oidc.clientCredentialsGrant(await rpFor(service))).access_token;
        for (const [token, says] of [
          [revoked, 'not an active access token'],
          [expired, 'not an active access token'],
          [expiredOpaque.body.access_token as string, 'not an active access token'],
          ['garbage', 'not an active access token'],
          ['a.b.c', 'not an active access token'],
          [`${subject.slice(0, -4)}AAAA`, 'not an active access token'],
          [clientOwn, 'needs a token issued for a person'],
        ] as const) {
          const answer = await exchange(apiA, {
            subject_token: token,
            subject_token_type: ACCESS_TOKEN_TYPE,
          });
          expectOAuthError(answer, 400, 'invalid_request');
          expect(answer.body.error_description).toContain(says);
        }
        // A bad actor token is refused the same way.
        const badActor = await exchange(apiA, {
          subject_token: subject,
          subject_token_type: ACCESS_TOKEN_TYPE,
          actor_token: revoked,
          actor_token_type: ACCESS_TOKEN_TYPE,
        });
        expectOAuthError(badActor, 400, 'invalid_request');
        expect(badActor.body.error_description).toContain('actor_token');
      });

      it('refuses missing parameters and unsupported token types with invalid_request', async () => {
        const cases: [Record<string, string>, string][] = [
          [{ subject_token_type: ACCESS_TOKEN_TYPE }, 'subject_token'],
          [{ subject_token: subject }, 'subject_token_type'],
          [
            {
              subject_token: subject,
              subject_token_type: 'urn:ietf:params:oauth:token-type:saml2',
            },
            'subject_token_type',
          ],
          [
            {
              subject_token: subject,
              subject_token_type: ACCESS_TOKEN_TYPE,
              requested_token_type: 'urn:ietf:params:oauth:token-type:refresh_token',
            },
            'requested_token_type',
          ],
          [
            {
              subject_token: subject,
              subject_token_type: ACCESS_TOKEN_TYPE,
              requested_token_type: ID_TOKEN_TYPE,
            },
            'requested_token_type',
          ],
          [
            { subject_token: subject, subject_token_type: ACCESS_TOKEN_TYPE, actor_token: subject },
            'actor_token_type is required',
          ],
          [
            {
              subject_token: subject,
              subject_token_type: ACCESS_TOKEN_TYPE,
              actor_token_type: ACCESS_TOKEN_TYPE,
            },
            'without an actor_token',
          ],
          [
            {
              subject_token: subject,
              subject_token_type: ACCESS_TOKEN_TYPE,
              actor_token: subject,
              actor_token_type: ID_TOKEN_TYPE,
            },
            'actor_token_type',
          ],
        ];
        for (const [form, says] of cases) {
          const answer = await exchange(apiA, form);
          expectOAuthError(answer, 400, 'invalid_request');
          expect(answer.body.error_description).toContain(says);
        }
      });

      it('refuses a client without the grant, and a public client, with unauthorized_client', async () => {
        const answer = await exchange(web, {
          subject_token: subject,
          subject_token_type: ACCESS_TOKEN_TYPE,
        });
        expectOAuthError(answer, 400, 'unauthorized_client');
        // The rules refuse to register one; one written straight into the store is refused too.
        const publicClient = await makeClient(ctx, {
          type: 'public',
          grantTypes: [TOKEN_EXCHANGE],
        });
        const fromPublic = await exchange(publicClient, {
          subject_token: subject,
          subject_token_type: ACCESS_TOKEN_TYPE,
        });
        expectOAuthError(fromPublic, 400, 'unauthorized_client');
        const viaAdmin = await server.app.inject({
          method: 'POST',
          url: '/admin/api/clients',
          headers: { 'x-admin-key': ctx.config.adminKey! },
          payload: { client_name: 'SPA', client_type: 'public', grant_types: [TOKEN_EXCHANGE] },
        });
        expect(viaAdmin.statusCode).toBe(400);
        expect(viaAdmin.json().field).toBe('grant_types');
      });

      it('refuses a wrong client secret with invalid_client before looking at the tokens', async () => {
        const answer = await exchange(
          { client: apiA.client, secret: 'wrong' },
          { subject_token: subject, subject_token_type: ACCESS_TOKEN_TYPE },
        );
        expectOAuthError(answer, 401, 'invalid_client');
      });
    });

    const now = () => Math.floor(Date.now() / 1000);
    async function untrusted(): Promise<string> {
      const stranger = await startExternalIssuer(EXTERNAL_AUDIENCE);
      try {
        return await stranger.idToken({});
      } finally {
        await stranger.close();
      }
    }
  });
}

describe('token exchange switched off', () => {
  let server: RunningServer;
  let client: Client;
  let secret: string;
  beforeAll(async () => {
    server = await startServer({ env: { TESSERA_TOKEN_EXCHANGE: 'off' } });
    const tc = await makeClient(server.app.tessera, {
      grantTypes: [TOKEN_EXCHANGE],
      redirectUris: [],
    });
    client = tc.client;
    secret = tc.secret!;
  });
  afterAll(async () => server.close());

  it('is not advertised, and is refused with unsupported_grant_type', async () => {
    const meta = (await (await fetch(`${server.url}/.well-known/openid-configuration`)).json()) as {
      grant_types_supported: string[];
    };
    expect(meta.grant_types_supported).not.toContain(TOKEN_EXCHANGE);
    expect(meta.grant_types_supported).toContain('authorization_code');
    const answer = await postAsClient(
      server.url,
      '/token',
      { client, secret },
      {
        grant_type: TOKEN_EXCHANGE,
        subject_token: 'x',
        subject_token_type: ACCESS_TOKEN_TYPE,
      },
    );
    expectOAuthError(answer, 400, 'unsupported_grant_type');
  });
});
