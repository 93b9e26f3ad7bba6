import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.js';
import { ACR_VALUES_SUPPORTED } from '../domain/acr.js';
import { ASSERTION_ALGS } from '../domain/client-jwks.js';
import { JWS_ALGS } from '../lib/jws.js';
import { RESPONSE_MODES, RESPONSE_TYPES } from './authorize/request.js';
import { PROMPTS } from './authorize/sign-in-parameters.js';
import { SUPPORTED_CLAIMS } from './claims.js';
import { CLIENT_AUTH_METHODS } from './client-auth.js';
import { DPOP_ALGS } from './dpop-algs.js';
import { offeredGrantTypes } from './grants/index.js';
import { OIDC_SCOPES } from './scopes.js';

/**
 * The provider metadata (OpenID Connect Discovery 1.0 §3, RFC 8414 §2). Every
 * value is derived from what the code supports, so nothing is advertised that
 * does not work.
 */
export function providerMetadata(ctx: AppContext): Record<string, unknown> {
  const issuer = ctx.config.issuer;
  const secretMethods = CLIENT_AUTH_METHODS.filter((m) => m !== 'none');
  return {
    issuer,
    authorization_endpoint: `${issuer}/authorize`,
    token_endpoint: `${issuer}/token`,
    userinfo_endpoint: `${issuer}/userinfo`,
    jwks_uri: `${issuer}/jwks`,
    revocation_endpoint: `${issuer}/revoke`,
    introspection_endpoint: `${issuer}/introspect`,
    end_session_endpoint: `${issuer}/logout`,
    pushed_authorization_request_endpoint: `${issuer}/par`,
    // RFC 9126 §5: the server-wide setting; a client's own is in its registration (§6).
    require_pushed_authorization_requests: ctx.config.requirePar,
    ...(ctx.config.deviceFlow
      ? { device_authorization_endpoint: `${issuer}/device_authorization` }
      : {}),
    ...(ctx.config.registration !== 'off' ? { registration_endpoint: `${issuer}/register` } : {}),
    scopes_supported: [...OIDC_SCOPES],
    response_types_supported: [...RESPONSE_TYPES],
    response_modes_supported: [...RESPONSE_MODES],
    grant_types_supported: offeredGrantTypes(ctx.config),
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: [...JWS_ALGS],
    userinfo_signing_alg_values_supported: [...JWS_ALGS],
    token_endpoint_auth_methods_supported: [...CLIENT_AUTH_METHODS],
    revocation_endpoint_auth_methods_supported: [...CLIENT_AUTH_METHODS],
    introspection_endpoint_auth_methods_supported: [...secretMethods],
    // The algs of client assertions (client_secret_jwt: HS*, private_key_jwt: the others).
    token_endpoint_auth_signing_alg_values_supported: [...ASSERTION_ALGS],
    revocation_endpoint_auth_signing_alg_values_supported: [...ASSERTION_ALGS],
    introspection_endpoint_auth_signing_alg_values_supported: [...ASSERTION_ALGS],
    code_challenge_methods_supported: ['S256'],
    claims_supported: [
      'iss',
      'aud',
      'exp',
      'iat',
      'auth_time',
      'nonce',
      'acr',
      'amr',
      'azp',
      'sid',
      ...SUPPORTED_CLAIMS,
    ],
    claims_parameter_supported: true,
    request_parameter_supported: false,
    // OpenID Connect Discovery's request_uri is a request object by reference, which is not
    // supported; the request_uri of PAR is advertised by pushed_authorization_request_endpoint.
    request_uri_parameter_supported: false,
    require_request_uri_registration: false,
    authorization_response_iss_parameter_supported: true,
    prompt_values_supported: [...PROMPTS],
    acr_values_supported: [...ACR_VALUES_SUPPORTED],
    ui_locales_supported: ['en'],
    claim_types_supported: ['normal'],
    backchannel_logout_supported: true,
    backchannel_logout_session_supported: true,
    frontchannel_logout_supported: false,
    ...(ctx.config.dpop ? { dpop_signing_alg_values_supported: [...DPOP_ALGS] } : {}),
    ...(ctx.config.cimd ? { client_id_metadata_document_supported: true } : {}),
  };
}

const OPENID = '/.well-known/openid-configuration';
const OAUTH = '/.well-known/oauth-authorization-server';

/**
 * Every path, from the host's root, where the metadata is served. Without a path in the issuer:
 * the two well-known documents at the root. With one (say /tenant-a), only the forms that name
 * it, each a client may try: `/.well-known/oauth-authorization-server/tenant-a` (RFC 8414 §3.1, the path
 * inserted after the well-known part), `/tenant-a/.well-known/openid-configuration` (OpenID
 * Connect Discovery §4.1, appended), and their two mirror forms, which clients also try (the MCP
 * SDK's order: RFC 8414 inserted, OpenID inserted, OpenID appended). The root forms without
 * the path are not served: they belong to whatever else lives on the host.
 */
export function discoveryPaths(issuerPath: string): string[] {
  if (issuerPath === '') return [OPENID, OAUTH];
  return [
    `${issuerPath}${OPENID}`,
    `${issuerPath}${OAUTH}`,
    `${OAUTH}${issuerPath}`,
    `${OPENID}${issuerPath}`,
  ];
}

/**
 * The metadata at every path of `discoveryPaths`: one document, so the OpenID Connect and the
 * RFC 8414 forms cannot disagree (every OpenID member is registered for RFC 8414 metadata too, §7.1).
 * Registered from the host's root (app.ts), since two of the forms lie outside the issuer's path.
 */
export function registerDiscovery(app: FastifyInstance, ctx: AppContext): void {
  // Serialised once: the configuration cannot change while the process runs.
  let body: string | undefined;
  const send = async (_request: unknown, reply: import('fastify').FastifyReply) => {
    body ??= JSON.stringify(providerMetadata(ctx));
    return reply.type('application/json').header('cache-control', 'public, max-age=300').send(body);
  };
  for (const path of discoveryPaths(ctx.config.issuerPath)) app.get(path, send);
}

export function registerJwks(app: FastifyInstance, ctx: AppContext): void {
  app.get('/jwks', async (_request, reply) =>
    reply
      .type('application/jwk-set+json')
      .header('cache-control', 'public, max-age=300')
      .send(ctx.keys.jwksJson()),
  );
}
