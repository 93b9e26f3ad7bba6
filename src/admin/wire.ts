import { type Static, Type } from 'typebox';
import { MAX_DEFAULT_MAX_AGE } from '../domain/client-rules.js';
import type { ClientInput } from '../domain/clients.js';
import { ValidationError } from '../domain/errors.js';
import type { Client } from '../store/types.js';

const uri = Type.String({ maxLength: 2048 });
const uris = Type.Array(uri, { maxItems: 20 });

/**
 * A client in RFC 7591 names, as the admin API takes it; seed 003's
 * `app_name`, `contact_email` and `redirect_url` are accepted too.
 */
export const ClientBody = Type.Object(
  {
    client_name: Type.Optional(Type.String({ maxLength: 100 })),
    redirect_uris: Type.Optional(uris),
    post_logout_redirect_uris: Type.Optional(uris),
    grant_types: Type.Optional(Type.Array(Type.String({ maxLength: 100 }), { maxItems: 10 })),
    response_types: Type.Optional(Type.Array(Type.String({ maxLength: 100 }), { maxItems: 10 })),
    scope: Type.Optional(Type.String({ maxLength: 4000 })),
    token_endpoint_auth_method: Type.Optional(Type.String({ maxLength: 50 })),
    client_type: Type.Optional(Type.String({ maxLength: 20 })),
    contacts: Type.Optional(Type.Array(Type.String({ maxLength: 254 }), { maxItems: 10 })),
    access_token_format: Type.Optional(Type.String({ maxLength: 10 })),
    id_token_signed_response_alg: Type.Optional(Type.String({ maxLength: 10 })),
    // Null first in each union: Fastify's validator coerces types, and tried first, the other
    // branch turned a null (clear the setting) into "" or 0.
    userinfo_signed_response_alg: Type.Optional(
      Type.Union([Type.Null(), Type.String({ maxLength: 10 })]),
    ),
    backchannel_logout_uri: Type.Optional(Type.Union([Type.Null(), uri])),
    default_max_age: Type.Optional(
      Type.Union([Type.Null(), Type.Integer({ minimum: 0, maximum: MAX_DEFAULT_MAX_AGE })]),
    ),
    require_auth_time: Type.Optional(Type.Boolean()),
    first_party: Type.Optional(Type.Boolean()),
    require_pkce: Type.Optional(Type.Boolean()),
    resource_server: Type.Optional(Type.Boolean()),
    // RFC 7591 §2: the client's public keys, inline or by reference (checked by the domain).
    jwks: Type.Optional(Type.Union([Type.Null(), Type.Object({}, { additionalProperties: true })])),
    jwks_uri: Type.Optional(Type.Union([Type.Null(), uri])),
    token_endpoint_auth_signing_alg: Type.Optional(
      Type.Union([Type.Null(), Type.String({ maxLength: 10 })]),
    ),
    jwt_bearer_subjects: Type.Optional(
      Type.Array(Type.String({ maxLength: 200 }), { maxItems: 100 }),
    ),
    token_exchange_audiences: Type.Optional(Type.Array(uri, { maxItems: 20 })),
    token_exchange_subject_token_types: Type.Optional(
      Type.Array(Type.String({ maxLength: 100 }), { maxItems: 5 }),
    ),
    token_exchange_trusted_issuers: Type.Optional(Type.Array(uri, { maxItems: 20 })),
    dpop_bound_access_tokens: Type.Optional(Type.Boolean()),
    require_pushed_authorization_requests: Type.Optional(Type.Boolean()),
    allowed_resources: Type.Optional(Type.Array(uri, { maxItems: 50 })),
    // Seed 003.
    app_name: Type.Optional(Type.String({ maxLength: 100 })),
    contact_email: Type.Optional(Type.String({ maxLength: 254 })),
    redirect_url: Type.Optional(Type.Union([uri, uris])),
  },
  { additionalProperties: true },
);
export type ClientBody = Static<typeof ClientBody>;

/** The wire body as domain input; only fields present are set. */
export function clientInput(body: ClientBody): ClientInput {
  const input: ClientInput = {};
  if (
    body.client_name !== undefined &&
    body.app_name !== undefined &&
    body.client_name !== body.app_name
  ) {
    throw new ValidationError('client_name', 'send client_name or app_name, not both');
  }
  const name = body.client_name ?? body.app_name;
  if (name !== undefined) input.name = name;
  if (body.redirect_uris !== undefined && body.redirect_url !== undefined) {
    throw new ValidationError('redirect_uris', 'send redirect_uris or redirect_url, not both');
  }
  const redirects =
    body.redirect_uris ??
    (body.redirect_url === undefined ? undefined : [body.redirect_url].flat());
  if (redirects !== undefined) input.redirectUris = redirects;
  const email = body.contact_email ?? body.contacts?.[0];
  if (email !== undefined) input.contactEmail = email;
  if (body.post_logout_redirect_uris !== undefined)
    input.postLogoutRedirectUris = body.post_logout_redirect_uris;
  if (body.grant_types !== undefined) input.grantTypes = body.grant_types;
  if (body.response_types !== undefined) input.responseTypes = body.response_types;
  if (body.scope !== undefined) input.scopes = body.scope.split(' ').filter(Boolean);
  if (body.token_endpoint_auth_method !== undefined)
    input.tokenEndpointAuthMethod = body.token_endpoint_auth_method;
  if (body.client_type !== undefined) input.type = body.client_type as ClientInput['type'];
  if (body.access_token_format !== undefined) input.accessTokenFormat = body.access_token_format;
  if (body.id_token_signed_response_alg !== undefined)
    input.idTokenSignedResponseAlg = body.id_token_signed_response_alg;
  if (body.userinfo_signed_response_alg !== undefined)
    input.userinfoSignedResponseAlg = body.userinfo_signed_response_alg;
  if (body.backchannel_logout_uri !== undefined)
    input.backchannelLogoutUri = body.backchannel_logout_uri;
  if (body.default_max_age !== undefined) input.defaultMaxAge = body.default_max_age;
  if (body.require_auth_time !== undefined) input.requireAuthTime = body.require_auth_time;
  if (body.first_party !== undefined) input.firstParty = body.first_party;
  if (body.require_pkce !== undefined) input.requirePkce = body.require_pkce;
  if (body.resource_server !== undefined) input.resourceServer = body.resource_server;
  if (body.jwks !== undefined) input.jwks = body.jwks;
  if (body.jwks_uri !== undefined) input.jwksUri = body.jwks_uri;
  if (body.token_endpoint_auth_signing_alg !== undefined)
    input.tokenEndpointAuthSigningAlg = body.token_endpoint_auth_signing_alg;
  if (body.jwt_bearer_subjects !== undefined) input.jwtBearerSubjects = body.jwt_bearer_subjects;
  if (body.token_exchange_audiences !== undefined)
    input.tokenExchangeAudiences = body.token_exchange_audiences;
  if (body.token_exchange_subject_token_types !== undefined)
    input.tokenExchangeSubjectTokenTypes = body.token_exchange_subject_token_types;
  if (body.token_exchange_trusted_issuers !== undefined)
    input.tokenExchangeTrustedIssuers = body.token_exchange_trusted_issuers;
  if (body.dpop_bound_access_tokens !== undefined)
    input.dpopBoundAccessTokens = body.dpop_bound_access_tokens;
  if (body.require_pushed_authorization_requests !== undefined)
    input.requirePushedAuthorizationRequests = body.require_pushed_authorization_requests;
  if (body.allowed_resources !== undefined) input.allowedResources = body.allowed_resources;
  return input;
}

/** A client in RFC 7591 names; never the secret or its hash. */
export function clientView(client: Client): Record<string, unknown> {
  return {
    client_id: client.id,
    client_id_issued_at: client.createdAt,
    client_name: client.name,
    client_type: client.type,
    contacts: client.contactEmail ? [client.contactEmail] : [],
    redirect_uris: client.redirectUris,
    // Seed 003's clients read the (first) redirect URL under this name.
    redirect_url: client.redirectUris[0] ?? null,
    post_logout_redirect_uris: client.postLogoutRedirectUris,
    grant_types: client.grantTypes,
    response_types: client.responseTypes,
    scope: client.scopes.join(' '),
    token_endpoint_auth_method: client.tokenEndpointAuthMethod,
    access_token_format: client.accessTokenFormat,
    id_token_signed_response_alg: client.idTokenSignedResponseAlg,
    userinfo_signed_response_alg: client.userinfoSignedResponseAlg,
    backchannel_logout_uri: client.backchannelLogoutUri,
    backchannel_logout_session_required: client.backchannelLogoutUri !== null,
    default_max_age: client.defaultMaxAge,
    require_auth_time: client.requireAuthTime,
    first_party: client.firstParty,
    require_pkce: client.requirePkce,
    resource_server: client.resourceServer,
    jwks: client.jwks,
    jwks_uri: client.jwksUri,
    token_endpoint_auth_signing_alg: client.tokenEndpointAuthSigningAlg,
    jwt_bearer_subjects: client.jwtBearerSubjects,
    token_exchange_audiences: client.tokenExchangeAudiences,
    token_exchange_subject_token_types: client.tokenExchangeSubjectTokenTypes,
    token_exchange_trusted_issuers: client.tokenExchangeTrustedIssuers,
    dpop_bound_access_tokens: client.dpopBoundAccessTokens,
    require_pushed_authorization_requests: client.requirePushedAuthorizationRequests,
    registration: client.registration,
    allowed_resources: client.allowedResources,
    updated_at: client.updatedAt,
  };
}

/** The view plus the secret, for the one answer that shows it. */
export function clientWithSecret(
  client: Client,
  secret: string | undefined,
): Record<string, unknown> {
  return {
    ...clientView(client),
    ...(secret ? { client_secret: secret, client_secret_expires_at: 0 } : {}),
  };
}
