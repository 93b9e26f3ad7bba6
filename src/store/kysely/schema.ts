import type { Generated } from 'kysely';

/*
 * Row shapes as stored. Times are seconds since the epoch (int8); flags are 0/1
 * integers and lists are JSON text, so one schema serves SQLite and PostgreSQL.
 */

export interface UsersTable {
  id: string;
  username: string;
  username_lower: string;
  email: string;
  email_lower: string;
  email_verified: number;
  password_hash: string | null;
  given_name: string | null;
  family_name: string | null;
  middle_name: string | null;
  nickname: string | null;
  picture: string | null;
  website: string | null;
  gender: string | null;
  birthdate: string | null;
  zoneinfo: string | null;
  locale: string | null;
  phone_number: string | null;
  phone_number_verified: number;
  address: string | null;
  role: string;
  two_factor: number;
  /** A new address waiting to be verified; the account keeps `email` until then. */
  pending_email: string | null;
  pending_email_lower: string | null;
  created_at: number;
  updated_at: number;
}

/** A code e-mailed to an address (verification, sign-in, the code API): one per purpose and address. */
export interface EmailCodesTable {
  id: string;
  purpose: string;
  address_key: string;
  user_id: string | null;
  /** The account's id for verify_email codes, '' for the others: part of the unique key. */
  owner_key: string;
  code_hash: string;
  link_hash: string | null;
  attempts: number;
  created_at: number;
  expires_at: number;
  consumed_at: number | null;
}

export interface ClientsTable {
  id: string;
  name: string;
  contact_email: string | null;
  secret_hash: string | null;
  type: string;
  redirect_uris: string;
  post_logout_redirect_uris: string;
  grant_types: string;
  response_types: string;
  scopes: string;
  token_endpoint_auth_method: string;
  access_token_format: string;
  id_token_signed_response_alg: string;
  userinfo_signed_response_alg: string | null;
  backchannel_logout_uri: string | null;
  default_max_age: number | null;
  require_auth_time: number;
  first_party: number;
  require_pkce: number;
  resource_server: number;
  secret_sealed: string | null;
  jwks: string | null;
  jwks_uri: string | null;
  token_endpoint_auth_signing_alg: string | null;
  /** JSON list of user ids. */
  jwt_bearer_subjects: string;
  token_exchange_audiences: string;
  token_exchange_subject_token_types: string;
  token_exchange_trusted_issuers: string;
  dpop_bound_access_tokens: number;
  require_pushed_authorization_requests: number;
  /** 'admin', 'dynamic' or 'metadata_document'. */
  registration: string;
  /** JSON list of API identifiers. */
  allowed_resources: string;
  created_at: number;
  updated_at: number;
}

export interface ApisTable {
  id: string;
  identifier: string;
  name: string;
  /** Space-separated. */
  scopes: string;
  access_token_format: string | null;
  access_token_ttl: number | null;
  open_to_self_registered: number;
  client_id: string;
  created_at: number;
  updated_at: number;
}

export interface GrantsTable {
  id: string;
  user_id: string;
  client_id: string;
  scopes: string;
  /** Claim names consented to individually, space-separated. */
  claims: string;
  /** The API identifiers (RFC 8707 resources) consented to, as a JSON array. */
  resources: string;
  created_at: number;
  updated_at: number;
  last_used_at: number | null;
}

export interface CodesTable {
  id: string;
  family_id: string;
  grant_id: string;
  client_id: string;
  user_id: string;
  redirect_uri: string;
  scope: string;
  code_challenge: string | null;
  code_challenge_method: string | null;
  nonce: string | null;
  session_id: string | null;
  auth_time: number;
  acr: string | null;
  amr: string | null;
  claims: string | null;
  session_expires_at: number | null;
  dpop_jkt: string | null;
  /** JSON list of API identifiers. */
  resources: string;
  created_at: number;
  expires_at: number;
  consumed_at: number | null;
}

export interface DeviceCodesTable {
  id: string;
  user_code_hash: string;
  client_id: string;
  scope: string;
  status: string;
  user_id: string | null;
  grant_id: string | null;
  auth_time: number | null;
  acr: string | null;
  amr: string | null;
  poll_interval: number;
  last_polled_at: number | null;
  /** JSON list of API identifiers. */
  resources: string;
  created_at: number;
  expires_at: number;
  consumed_at: number | null;
}

export interface TokensTable {
  id: string;
  kind: string;
  format: string;
  client_id: string;
  user_id: string | null;
  grant_id: string | null;
  family_id: string | null;
  session_id: string | null;
  scope: string;
  audience: string | null;
  auth_time: number | null;
  acr: string | null;
  amr: string | null;
  claims: string | null;
  act: string | null;
  jkt: string | null;
  created_at: number;
  expires_at: number;
  family_expires_at: number | null;
  rotated_at: number | null;
  revoked_at: number | null;
}

export interface SessionsTable {
  id: string;
  secret_hash: string;
  user_id: string;
  auth_time: number;
  amr: string | null;
  acr: string | null;
  user_agent: string | null;
  ip: string | null;
  created_at: number;
  last_seen_at: number;
  expires_at: number;
  ended_at: number | null;
}

export interface SessionClientsTable {
  session_id: string;
  client_id: string;
  created_at: number;
}

export interface SigningKeysTable {
  kid: string;
  alg: string;
  public_jwk: string;
  private_jwk: string;
  created_at: number;
  activates_at: number;
  retired_at: number | null;
  expires_at: number | null;
}

export interface AuditEventsTable {
  id: Generated<number>;
  type: string;
  user_id: string | null;
  client_id: string | null;
  ip: string | null;
  details: string | null;
  created_at: number;
}

export interface UsedMarkersTable {
  id: string;
  expires_at: number;
}

export interface PushedRequestsTable {
  id: string;
  client_id: string;
  /** The pushed parameters, a JSON object of strings. */
  parameters: string;
  created_at: number;
  expires_at: number;
  started_at: number | null;
  finished_at: number | null;
}

export interface RegistrationTokensTable {
  id: string;
  token_hash: string;
  created_at: number;
  expires_at: number | null;
  uses_left: number | null;
}

export interface PasswordResetsTable {
  token_hash: string;
  user_id: string;
  created_at: number;
  expires_at: number;
  used_at: number | null;
}

export interface ClientRegistrationsTable {
  client_id: string;
  access_token_hash: string;
  application_type: string;
}

export interface LocksTable {
  name: string;
  taken_at: number;
}

export interface ExternalIdentitiesTable {
  issuer: string;
  subject: string;
  user_id: string;
  created_at: number;
}

/** A person's authenticator app (TOTP), once confirmed. */
export interface UserTotpTable {
  user_id: string;
  secret_sealed: string;
  enabled_at: number;
  last_step: number;
}

export interface RecoveryCodesTable {
  user_id: string;
  code_hash: string;
  created_at: number;
  used_at: number | null;
}

export interface PasskeysTable {
  id: string;
  user_id: string;
  name: string;
  public_key: string;
  counter: number;
  /** JSON list of transports (AuthenticatorTransport). */
  transports: string;
  device_type: string;
  backed_up: number;
  aaguid: string;
  created_at: number;
  last_used_at: number | null;
}

/** Mails of a development instance (no SMTP), listed at /dev/outbox. */
export interface MailOutboxTable {
  id: string;
  to: string;
  kind: string;
  subject: string;
  text: string;
  html: string;
  created_at: number;
}

/** The browsers a person signed in from, by the SHA-256 of their `tessera_browser` cookie. */
export interface UserBrowsersTable {
  user_id: string;
  browser_hash: string;
  first_seen_at: number;
  last_seen_at: number;
}

export interface Database {
  users: UsersTable;
  user_totp: UserTotpTable;
  recovery_codes: RecoveryCodesTable;
  external_identities: ExternalIdentitiesTable;
  passkeys: PasskeysTable;
  clients: ClientsTable;
  apis: ApisTable;
  grants: GrantsTable;
  authorization_codes: CodesTable;
  device_codes: DeviceCodesTable;
  tokens: TokensTable;
  sessions: SessionsTable;
  session_clients: SessionClientsTable;
  signing_keys: SigningKeysTable;
  audit_events: AuditEventsTable;
  used_markers: UsedMarkersTable;
  pushed_requests: PushedRequestsTable;
  registration_tokens: RegistrationTokensTable;
  client_registrations: ClientRegistrationsTable;
  password_resets: PasswordResetsTable;
  locks: LocksTable;
  email_codes: EmailCodesTable;
  mail_outbox: MailOutboxTable;
  user_browsers: UserBrowsersTable;
}

/** Every column, in one order; the type check fails when the schema gains a column. */
export const TOKEN_COLUMNS = [
  'id',
  'kind',
  'format',
  'client_id',
  'user_id',
  'grant_id',
  'family_id',
  'session_id',
  'scope',
  'audience',
  'auth_time',
  'acr',
  'amr',
  'claims',
  'act',
  'jkt',
  'created_at',
  'expires_at',
  'family_expires_at',
  'rotated_at',
  'revoked_at',
] as const satisfies readonly (keyof TokensTable)[];

export const USER_COLUMNS = [
  'id',
  'username',
  'username_lower',
  'email',
  'email_lower',
  'email_verified',
  'password_hash',
  'given_name',
  'family_name',
  'middle_name',
  'nickname',
  'picture',
  'website',
  'gender',
  'birthdate',
  'zoneinfo',
  'locale',
  'phone_number',
  'phone_number_verified',
  'address',
  'role',
  'two_factor',
  'pending_email',
  'pending_email_lower',
  'created_at',
  'updated_at',
] as const satisfies readonly (keyof UsersTable)[];

type Missing<T, C extends readonly (keyof T)[]> = Exclude<keyof T, C[number]>;
// Compile-time guards: a column added to the schema must be added above.
const allTokenColumns: Missing<TokensTable, typeof TOKEN_COLUMNS> extends never ? true : false =
  true;
const allUserColumns: Missing<UsersTable, typeof USER_COLUMNS> extends never ? true : false = true;
void allTokenColumns;
void allUserColumns;
