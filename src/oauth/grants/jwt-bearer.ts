import type { JWTPayload } from 'jose';
import type { AppContext } from '../../context.js';
import { JWT_BEARER } from '../../domain/client-rules.js';
import type { Client } from '../../store/types.js';
import { type ReadAssertion, readAssertion, verifyAssertion } from '../assertion.js';
import { InvalidClient, InvalidGrant, InvalidScope, UnauthorizedClient } from '../errors.js';
import { issueAccessToken } from '../issue.js';
import { param, type RawParams, requireParam } from '../params.js';
import { checkAllowed, OIDC_SCOPES, parseScope } from '../scopes.js';
import type { Grant, TokenResponse } from './types.js';

const USER_SCOPES: readonly string[] = OIDC_SCOPES;

const refuse = (description: string, cause?: unknown) =>
  new InvalidGrant(description, cause === undefined ? undefined : { cause });

/** Assertions this request has already verified (when they authenticated the client). */
const verified = new WeakMap<RawParams, JWTPayload>();

function readGrantAssertion(params: RawParams): { jwt: string; read: ReadAssertion } {
  const jwt = requireParam(params, 'assertion');
  return { jwt, read: readAssertion(jwt, 'the assertion', refuse) };
}

/** RFC 7523 §3: checked with the client's registered public keys; `aud` names us. */
function verifyGrantAssertion(
  ctx: AppContext,
  client: Client,
  jwt: string,
  read: ReadAssertion,
): Promise<JWTPayload> {
  const issuer = ctx.config.issuer;
  return verifyAssertion(ctx, client, jwt, read, {
    what: 'the assertion',
    keyType: 'public',
    alg: client.tokenEndpointAuthSigningAlg,
    audiences: [issuer, `${issuer}/token`],
    refuse,
  });
}

/**
 * The JWT bearer grant (RFC 7523 §2.1): a service account — a client with registered public
 * keys — signs an assertion and gets an access token. `sub` is the client itself (it acts for
 * itself, as with client_credentials) or a person the client was allowed to act for
 * (`jwt_bearer_subjects`). Client authentication is optional (§3.1): without it, the
 * assertion's `iss` names the client and its signature proves it; with it, the assertion must
 * come from that same client. No refresh token: a new assertion is as easy to make.
 */
export const jwtBearerGrant: Grant = {
  grantType: JWT_BEARER,
  parameters: ['assertion', 'scope'],

  async authenticate(ctx, _request, params) {
    const { jwt, read } = readGrantAssertion(params);
    const iss = read.claims.iss;
    if (typeof iss !== 'string' || iss === '')
      throw refuse('the assertion has no iss: it must be the client_id of the service account');
    const bodyId = param(params, 'client_id');
    if (bodyId !== undefined && bodyId !== iss)
      throw refuse(
        'client_id is not the iss of the assertion: a client presents its own assertions',
      );
    const client = iss.length <= 200 ? await ctx.clients.get(iss) : undefined;
    if (!client) throw refuse('the assertion’s iss is not a registered client');
    // Without other credentials the assertion is the client's authentication: a private_key_jwt
    // one, which only a client registered for that method may use (OpenID Connect Core §9).
    if (client.tokenEndpointAuthMethod !== 'private_key_jwt') {
      throw new InvalidClient(
        `client authentication failed: this client is registered for ${client.tokenEndpointAuthMethod}, so it must authenticate that way; only a private_key_jwt client may let the assertion alone authenticate it`,
      );
    }
    verified.set(params, await verifyGrantAssertion(ctx, client, jwt, read));
    return client;
  },

  async handle(ctx: AppContext, client, params, _request, dpop) {
    let claims = verified.get(params);
    if (!claims) {
      const { jwt, read } = readGrantAssertion(params);
      if (read.claims.iss !== client.id) {
        throw refuse(
          'the assertion’s iss is not the authenticated client: a client presents its own assertions',
        );
      }
      claims = await verifyGrantAssertion(ctx, client, jwt, read);
    }
    if (client.type === 'public')
      throw new UnauthorizedClient('public clients cannot use the JWT bearer grant');
    const sub = claims.sub;
    if (typeof sub !== 'string' || sub === '') {
      throw refuse(
        'the assertion has no sub: it must be the client_id, or a person the client acts for',
      );
    }
    const requested = param(params, 'scope');
    if (sub === client.id) {
      const scopes = ownScopes(client, requested);
      const access = await issueAccessToken(ctx, { client, scopes, jkt: dpop?.jkt ?? null });
      return tokenResponse(access, dpop !== undefined);
    }
    if (!client.jwtBearerSubjects.includes(sub)) {
      throw refuse(
        `the client may not act for "${sub}": sub must be its client_id or a person in its jwt_bearer_subjects`,
      );
    }
    const user = await ctx.store.users.findById(sub);
    if (!user) throw refuse(`the person "${sub}" does not exist (or no longer does)`);
    const scopes = personScopes(client, requested);
    const access = await issueAccessToken(ctx, { client, user, scopes, jkt: dpop?.jkt ?? null });
    return tokenResponse(access, dpop !== undefined);
  },
};

/** Bound to the key of the request's DPoP proof, when it had one (RFC 9449 §5). */
function tokenResponse(
  access: { token: string; expiresIn: number; scope: string },
  bound: boolean,
): TokenResponse {
  return {
    access_token: access.token,
    token_type: bound ? 'DPoP' : 'Bearer',
    expires_in: access.expiresIn,
    // The token's own scope: a scope of a registered API stays out of a token for Tessera.
    scope: access.scope,
  };
}

/** Acting for itself: the client's own scopes, never those that release a person's claims. */
function ownScopes(client: Client, requested: string | undefined): string[] {
  const own = client.scopes.filter((s) => !USER_SCOPES.includes(s));
  if (requested === undefined) return own;
  const scopes = parseScope(requested);
  const personal = scopes.filter((s) => USER_SCOPES.includes(s));
  if (personal.length > 0) {
    throw new InvalidScope(
      `scope ${personal.join(' ')} needs a person: an assertion whose sub is the client cannot grant it`,
    );
  }
  checkAllowed(scopes, own);
  return scopes;
}

/** Acting for a person: within the client's allowed scopes; no offline_access (no refresh token). */
function personScopes(client: Client, requested: string | undefined): string[] {
  const allowed = client.scopes.filter((s) => s !== 'offline_access');
  if (requested === undefined) return allowed;
  const scopes = parseScope(requested);
  if (scopes.includes('offline_access')) {
    throw new InvalidScope(
      'offline_access cannot be granted: the JWT bearer grant gives no refresh token',
    );
  }
  checkAllowed(scopes, allowed);
  return scopes;
}
