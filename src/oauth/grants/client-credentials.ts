import type { AppContext } from '../../context.js';
import { InvalidScope, UnauthorizedClient } from '../errors.js';
import { issueAccessToken } from '../issue.js';
import { param } from '../params.js';
import { ownTarget, readTokenResource } from '../resource.js';
import { checkAllowed, OIDC_SCOPES, parseScope } from '../scopes.js';
import type { Grant } from './types.js';

const USER_SCOPES: readonly string[] = OIDC_SCOPES;

/**
 * RFC 6749 §4.4: a confidential client acting for itself. An access token only;
 * the scopes are the client's own (custom) scopes, never those that release a
 * person's claims. With `resource` (RFC 8707), the token is for that API and its
 * scopes are the API's: those asked for, or all of them.
 */
export const clientCredentialsGrant: Grant = {
  grantType: 'client_credentials',
  parameters: ['scope', 'resource'],

  async handle(ctx: AppContext, client, params, _request, dpop) {
    if (client.type === 'public')
      throw new UnauthorizedClient('public clients cannot use client_credentials');
    const api = await ownTarget(ctx, client, readTokenResource(params));
    const ownScopes = (api ? api.scopes : client.scopes).filter((s) => !USER_SCOPES.includes(s));
    const requested = param(params, 'scope');
    let scopes = ownScopes;
    if (requested !== undefined) {
      scopes = parseScope(requested);
      const personal = scopes.filter((s) => USER_SCOPES.includes(s));
      if (personal.length > 0) {
        throw new InvalidScope(
          `scope ${personal.join(' ')} needs a person: client_credentials cannot grant it`,
        );
      }
      checkAllowed(scopes, ownScopes);
    }
    const access = await issueAccessToken(ctx, {
      client,
      scopes,
      jkt: dpop?.jkt ?? null,
      ...(api ? { api } : {}),
    });
    return {
      access_token: access.token,
      token_type: dpop ? 'DPoP' : 'Bearer',
      expires_in: access.expiresIn,
      scope: access.scope,
    };
  },
};
