import type { Kysely, Selectable } from 'kysely';
import type {
  Client,
  ClientPatch,
  ClientRegistration,
  ClientStore,
  JwkSet,
  NewClient,
} from '../types.js';
import { flag, fromJson, isSet, list, toJson } from './codec.js';
import type { ClientsTable, Database } from './schema.js';

function registrationOf(value: string): ClientRegistration {
  return value === 'dynamic' || value === 'metadata_document' ? value : 'admin';
}

function toClient(row: Selectable<ClientsTable>): Client {
  return {
    id: row.id,
    name: row.name,
    contactEmail: row.contact_email,
    secretHash: row.secret_hash,
    secretSealed: row.secret_sealed,
    type: row.type === 'public' ? 'public' : 'confidential',
    redirectUris: list(row.redirect_uris),
    postLogoutRedirectUris: list(row.post_logout_redirect_uris),
    grantTypes: list(row.grant_types),
    responseTypes: list(row.response_types),
    scopes: row.scopes ? row.scopes.split(' ') : [],
    tokenEndpointAuthMethod: row.token_endpoint_auth_method as Client['tokenEndpointAuthMethod'],
    accessTokenFormat: row.access_token_format === 'opaque' ? 'opaque' : 'jwt',
    idTokenSignedResponseAlg: row.id_token_signed_response_alg,
    userinfoSignedResponseAlg: row.userinfo_signed_response_alg,
    backchannelLogoutUri: row.backchannel_logout_uri,
    defaultMaxAge: row.default_max_age,
    requireAuthTime: isSet(row.require_auth_time),
    firstParty: isSet(row.first_party),
    requirePkce: isSet(row.require_pkce),
    resourceServer: isSet(row.resource_server),
    jwks: fromJson<JwkSet>(row.jwks),
    jwksUri: row.jwks_uri,
    tokenEndpointAuthSigningAlg: row.token_endpoint_auth_signing_alg,
    jwtBearerSubjects: list(row.jwt_bearer_subjects),
    tokenExchangeAudiences: list(row.token_exchange_audiences),
    tokenExchangeSubjectTokenTypes: list(row.token_exchange_subject_token_types),
    tokenExchangeTrustedIssuers: list(row.token_exchange_trusted_issuers),
    dpopBoundAccessTokens: isSet(row.dpop_bound_access_tokens),
    requirePushedAuthorizationRequests: isSet(row.require_pushed_authorization_requests),
    registration: registrationOf(row.registration),
    allowedResources: list(row.allowed_resources),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function toColumns(patch: ClientPatch): Partial<ClientsTable> {
  const row: Partial<ClientsTable> = {};
  if (patch.name !== undefined) row.name = patch.name;
  if (patch.contactEmail !== undefined) row.contact_email = patch.contactEmail;
  if (patch.secretHash !== undefined) row.secret_hash = patch.secretHash;
  if (patch.type !== undefined) row.type = patch.type;
  if (patch.redirectUris !== undefined) row.redirect_uris = JSON.stringify(patch.redirectUris);
  if (patch.postLogoutRedirectUris !== undefined) {
    row.post_logout_redirect_uris = JSON.stringify(patch.postLogoutRedirectUris);
  }
  if (patch.grantTypes !== undefined) row.grant_types = JSON.stringify(patch.grantTypes);
  if (patch.responseTypes !== undefined) row.response_types = JSON.stringify(patch.responseTypes);
  if (patch.scopes !== undefined) row.scopes = patch.scopes.join(' ');
  if (patch.tokenEndpointAuthMethod !== undefined) {
    row.token_endpoint_auth_method = patch.tokenEndpointAuthMethod;
  }
  if (patch.accessTokenFormat !== undefined) row.access_token_format = patch.accessTokenFormat;
  if (patch.idTokenSignedResponseAlg !== undefined) {
    row.id_token_signed_response_alg = patch.idTokenSignedResponseAlg;
  }
  if (patch.userinfoSignedResponseAlg !== undefined) {
    row.userinfo_signed_response_alg = patch.userinfoSignedResponseAlg;
  }
  if (patch.backchannelLogoutUri !== undefined)
    row.backchannel_logout_uri = patch.backchannelLogoutUri;
  if (patch.defaultMaxAge !== undefined) row.default_max_age = patch.defaultMaxAge;
  if (patch.requireAuthTime !== undefined) row.require_auth_time = flag(patch.requireAuthTime);
  if (patch.firstParty !== undefined) row.first_party = flag(patch.firstParty);
  if (patch.requirePkce !== undefined) row.require_pkce = flag(patch.requirePkce);
  if (patch.resourceServer !== undefined) row.resource_server = flag(patch.resourceServer);
  if (patch.registration !== undefined) row.registration = patch.registration;
  if (patch.allowedResources !== undefined) {
    row.allowed_resources = JSON.stringify(patch.allowedResources);
  }
  if (patch.secretSealed !== undefined) row.secret_sealed = patch.secretSealed;
  if (patch.jwks !== undefined) row.jwks = toJson(patch.jwks);
  if (patch.jwksUri !== undefined) row.jwks_uri = patch.jwksUri;
  if (patch.tokenEndpointAuthSigningAlg !== undefined) {
    row.token_endpoint_auth_signing_alg = patch.tokenEndpointAuthSigningAlg;
  }
  if (patch.jwtBearerSubjects !== undefined) {
    row.jwt_bearer_subjects = JSON.stringify(patch.jwtBearerSubjects);
  }
  if (patch.tokenExchangeAudiences !== undefined)
    row.token_exchange_audiences = JSON.stringify(patch.tokenExchangeAudiences);
  if (patch.tokenExchangeSubjectTokenTypes !== undefined) {
    row.token_exchange_subject_token_types = JSON.stringify(patch.tokenExchangeSubjectTokenTypes);
  }
  if (patch.tokenExchangeTrustedIssuers !== undefined)
    row.token_exchange_trusted_issuers = JSON.stringify(patch.tokenExchangeTrustedIssuers);
  if (patch.dpopBoundAccessTokens !== undefined) {
    row.dpop_bound_access_tokens = flag(patch.dpopBoundAccessTokens);
  }
  if (patch.requirePushedAuthorizationRequests !== undefined) {
    row.require_pushed_authorization_requests = flag(patch.requirePushedAuthorizationRequests);
  }
  return row;
}

export function clientStore(db: Kysely<Database>): ClientStore {
  return {
    async create(client: NewClient) {
      // A NewClient has every field, so toColumns yields every column.
      const row = {
        ...toColumns(client),
        id: client.id,
        created_at: client.createdAt,
        updated_at: client.createdAt,
      } as ClientsTable;
      await db.insertInto('clients').values(row).execute();
      return toClient(row);
    },

    async findById(id) {
      const row = await db
        .selectFrom('clients')
        .selectAll()
        .where('id', '=', id)
        .executeTakeFirst();
      return row && toClient(row);
    },

    async list() {
      const rows = await db
        .selectFrom('clients')
        .selectAll()
        .orderBy('created_at')
        .orderBy('id')
        .execute();
      return rows.map(toClient);
    },

    async update(id, patch, now) {
      const row = await db
        .updateTable('clients')
        .set({ ...toColumns(patch), updated_at: now })
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirst();
      return row && toClient(row);
    },

    async delete(id) {
      return db.transaction().execute(async (tx) => {
        await tx.deleteFrom('session_clients').where('client_id', '=', id).execute();
        await tx.deleteFrom('device_codes').where('client_id', '=', id).execute();
        await tx.deleteFrom('tokens').where('client_id', '=', id).execute();
        // Tokens other clients got by exchanging this client's tokens (RFC 8693) hang on its grants.
        await tx
          .deleteFrom('tokens')
          .where('grant_id', 'in', tx.selectFrom('grants').select('id').where('client_id', '=', id))
          .execute();
        await tx.deleteFrom('authorization_codes').where('client_id', '=', id).execute();
        await tx.deleteFrom('pushed_requests').where('client_id', '=', id).execute();
        await tx.deleteFrom('grants').where('client_id', '=', id).execute();
        // An API's introspection client goes with the API (domain/apis.ts deletes both).
        await tx.deleteFrom('apis').where('client_id', '=', id).execute();
        await tx.deleteFrom('client_registrations').where('client_id', '=', id).execute();
        const result = await tx.deleteFrom('clients').where('id', '=', id).executeTakeFirst();
        return result.numDeletedRows > 0n;
      });
    },
  };
}
