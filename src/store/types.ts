/*
 * The storage contract: one narrow interface per aggregate, written for what
 * its callers need. Records are camelCase and typed; no SQL or Kysely type
 * leaves store/. Times are seconds since the epoch.
 */

export type Role = 'user' | 'admin';

export interface Address {
  formatted?: string;
  street_address?: string;
  locality?: string;
  region?: string;
  postal_code?: string;
  country?: string;
}

/** The profile fields a person can hold, named after the OpenID Connect claims. */
export interface Profile {
  givenName: string | null;
  familyName: string | null;
  middleName: string | null;
  nickname: string | null;
  picture: string | null;
  website: string | null;
  gender: string | null;
  birthdate: string | null;
  zoneinfo: string | null;
  locale: string | null;
  phoneNumber: string | null;
  phoneNumberVerified: boolean;
  address: Address | null;
}

export interface User extends Profile {
  /** Random and never reused: it is the `sub` of every token. */
  id: string;
  username: string;
  email: string;
  emailVerified: boolean;
  passwordHash: string | null;
  role: Role;
  twoFactor: boolean;
  /**
   * A new address the person asked for, not yet verified: it receives only the verification
   * mail; sign-in, claims and every other mail use `email` until it is verified.
   */
  pendingEmail: string | null;
  createdAt: number;
  updatedAt: number;
}

/** A new account has no address waiting to be verified. */
export type NewUser = Omit<User, 'createdAt' | 'updatedAt' | 'pendingEmail'> & {
  createdAt: number;
};
export type UserPatch = Partial<Omit<User, 'id' | 'createdAt' | 'updatedAt'>>;

export type ClientType = 'confidential' | 'public';
export type TokenEndpointAuthMethod =
  | 'client_secret_basic'
  | 'client_secret_post'
  | 'client_secret_jwt'
  | 'private_key_jwt'
  | 'none';

/** A JSON Web Key Set (RFC 7517 §5) as a client registered it: public keys only. */
export interface JwkSet {
  keys: Record<string, unknown>[];
}
export type AccessTokenFormat = 'jwt' | 'opaque';

export interface Client {
  id: string;
  name: string;
  contactEmail: string | null;
  /** SHA-256 of the secret; null for public clients and those that sign with their own keys. */
  secretHash: string | null;
  /**
   * The secret itself, sealed under the instance secret (lib/seal.ts, purpose
   * `client-secret-jwt`): kept only for `client_secret_jwt`, whose HMAC needs the plain secret.
   */
  secretSealed: string | null;
  type: ClientType;
  redirectUris: string[];
  postLogoutRedirectUris: string[];
  grantTypes: string[];
  responseTypes: string[];
  /** The scopes this client may ask for. */
  scopes: string[];
  tokenEndpointAuthMethod: TokenEndpointAuthMethod;
  accessTokenFormat: AccessTokenFormat;
  idTokenSignedResponseAlg: string;
  userinfoSignedResponseAlg: string | null;
  backchannelLogoutUri: string | null;
  defaultMaxAge: number | null;
  requireAuthTime: boolean;
  /** First-party clients skip the consent page. */
  firstParty: boolean;
  requirePkce: boolean;
  /** Its authorization requests must come through /par (RFC 9126 §5): /authorize refuses others. */
  requirePushedAuthorizationRequests: boolean;
  /**
   * A resource server: it may introspect access tokens issued for the default audience (the
   * issuer), besides its own. Other clients introspect only their own tokens.
   */
  resourceServer: boolean;
  /** The client's public keys, registered inline (RFC 7591 `jwks`); exclusive with `jwksUri`. */
  jwks: JwkSet | null;
  /** Where the client publishes its public keys (RFC 7591 `jwks_uri`). */
  jwksUri: string | null;
  /** The one JWS alg its client assertions may use; any allowed one when null. */
  tokenEndpointAuthSigningAlg: string | null;
  /** User ids of the people this client may act for with the JWT bearer grant (RFC 7523 §2.1). */
  jwtBearerSubjects: string[];
  /**
   * Token exchange (RFC 8693) policy: the audiences this client may ask tokens for, besides the
   * default one (the issuer).
   */
  tokenExchangeAudiences: string[];
  /** The subject token types (RFC 8693 §3 URIs) this client may exchange. */
  tokenExchangeSubjectTokenTypes: string[];
  /** The trusted issuers (TESSERA_TRUSTED_ISSUERS) whose ID tokens this client may exchange. */
  tokenExchangeTrustedIssuers: string[];
  /** RFC 9449 §5.2: every token request of this client must carry a DPoP proof. */
  dpopBoundAccessTokens: boolean;
  /**
   * How the client came to be: registered by an admin (admin API, CLI), by itself through dynamic
   * client registration (RFC 7591), or read from the Client ID Metadata Document its id names.
   * Set when it is created, never changed by an update.
   */
  registration: ClientRegistration;
  /**
   * The identifiers of the registered APIs (resource servers) this client may get tokens for
   * with `resource` (RFC 8707), and whose scopes it may ask for. A self-registered client may
   * also use the APIs open to self-registered clients (domain/apis.ts `apisForClient`).
   */
  allowedResources: string[];
  createdAt: number;
  updatedAt: number;
}

export type ClientRegistration = 'admin' | 'dynamic' | 'metadata_document';

export type NewClient = Omit<Client, 'updatedAt'>;
export type ClientPatch = Partial<Omit<Client, 'id' | 'createdAt' | 'updatedAt'>>;

/** One person's consent to one client: every code and token points to it. */
export interface Grant {
  id: string;
  userId: string;
  clientId: string;
  scopes: string[];
  /** Claims consented to individually (the `claims` request parameter), beyond those of the scopes. */
  claims: string[];
  /**
   * The APIs (RFC 8707 resources, by identifier) the person allowed the app to reach. Only
   * widened while the grant lives: a request naming another one asks for consent again.
   */
  resources: string[];
  createdAt: number;
  updatedAt: number;
  lastUsedAt: number | null;
}

export interface GrantWithClient extends Grant {
  clientName: string;
}

export interface AuthorizationCode {
  /** SHA-256 of the code. */
  id: string;
  /** Every token issued from this code carries it, so a replay can revoke them all. */
  familyId: string;
  grantId: string;
  clientId: string;
  userId: string;
  redirectUri: string;
  scope: string;
  codeChallenge: string | null;
  codeChallengeMethod: string | null;
  nonce: string | null;
  sessionId: string | null;
  authTime: number;
  acr: string | null;
  amr: string[] | null;
  /** The `claims` request parameter, as JSON text, limited to what the person consented to. */
  claims: string | null;
  /** When the session the code was issued in ends: session-bound refresh tokens end with it. */
  sessionExpiresAt: number | null;
  /** RFC 9449 §10: the thumbprint of the key the token request must prove (`dpop_jkt`). */
  dpopJkt: string | null;
  /** The API identifiers the authorization request named with `resource` (RFC 8707 §2.1). */
  resources: string[];
  createdAt: number;
  expiresAt: number;
  consumedAt: number | null;
}

export type ConsumeResult =
  | { status: 'consumed'; code: AuthorizationCode }
  /** The code was used before: a replay. */
  | { status: 'reused'; code: AuthorizationCode }
  | { status: 'expired' }
  /** Issued to another client than the one presenting it: left unspent for its own client. */
  | { status: 'other_client' }
  | { status: 'missing' };

/** Where a device authorization stands: waiting for the person, or answered by them. */
export type DeviceCodeStatus = 'pending' | 'approved' | 'denied';

/** A device authorization request (RFC 8628 §3.2): its device code and user code, both hashed. */
export interface DeviceCode {
  /** SHA-256 of the device code. */
  id: string;
  /** SHA-256 of the normalised user code (the eight letters, no dash). */
  userCodeHash: string;
  clientId: string;
  scope: string;
  status: DeviceCodeStatus;
  /** Who answered, and their sign-in; null while pending. */
  userId: string | null;
  grantId: string | null;
  authTime: number | null;
  acr: string | null;
  amr: string[] | null;
  /** Seconds the device must wait between polls; grows by 5 with each slow_down (RFC 8628 §3.5). */
  interval: number;
  /** The API identifiers the device authorization request named with `resource` (RFC 8707). */
  resources: string[];
  lastPolledAt: number | null;
  createdAt: number;
  expiresAt: number;
  consumedAt: number | null;
}

/** The person's answer to a device authorization. */
export interface DeviceDecision {
  status: 'approved' | 'denied';
  userId: string;
  grantId: string | null;
  authTime: number | null;
  acr: string | null;
  amr: string[] | null;
}

export type TokenKind = 'access' | 'refresh';

export interface TokenRecord {
  /** SHA-256 of an opaque token, or the `jti` of a JWT. */
  id: string;
  kind: TokenKind;
  format: AccessTokenFormat;
  clientId: string;
  userId: string | null;
  grantId: string | null;
  familyId: string | null;
  sessionId: string | null;
  scope: string;
  /**
   * An access token's `aud`. A refresh token's: the API identifiers (RFC 8707) it was granted
   * for, space-separated (URIs hold no spaces), or null when none were named.
   */
  audience: string | null;
  authTime: number | null;
  acr: string | null;
  amr: string[] | null;
  claims: string | null;
  /** The `act` claim (RFC 8693 §4.1) of a token issued by token exchange, as JSON text. */
  act: string | null;
  /** The thumbprint of the DPoP key the token is bound to (RFC 9449 §6); null when unbound. */
  jkt: string | null;
  createdAt: number;
  expiresAt: number;
  /** The absolute end of a refresh token family. */
  familyExpiresAt: number | null;
  rotatedAt: number | null;
  revokedAt: number | null;
}

export type RotateResult =
  | { status: 'rotated'; token: TokenRecord }
  /** Already rotated (or revoked): the caller decides between grace and family revocation. */
  | { status: 'stale'; token: TokenRecord }
  | { status: 'missing' };

export interface Session {
  /** The public session id: the `sid` claim. */
  id: string;
  /** SHA-256 of the cookie value. */
  secretHash: string;
  userId: string;
  authTime: number;
  amr: string[] | null;
  acr: string | null;
  userAgent: string | null;
  ip: string | null;
  createdAt: number;
  lastSeenAt: number;
  expiresAt: number;
  endedAt: number | null;
}

export interface SigningKey {
  kid: string;
  alg: string;
  publicJwk: string;
  /** Encrypted under the instance secret. */
  privateJwk: string;
  createdAt: number;
  /** Published before this, signs from then on. */
  activatesAt: number;
  retiredAt: number | null;
  /** Dropped from the JWKS after this: every token it signed has expired. */
  expiresAt: number | null;
}

export interface AuditEvent {
  id: number;
  type: string;
  userId: string | null;
  clientId: string | null;
  ip: string | null;
  details: Record<string, unknown> | null;
  createdAt: number;
}

export type NewAuditEvent = Omit<AuditEvent, 'id'>;

/**
 * An API (resource server, RFC 8707 §2): what access tokens are for. Clients name it with
 * `resource`; its tokens carry `aud` = `identifier`.
 */
export interface Api {
  id: string;
  /** An absolute URI without a fragment (RFC 8707 §2); unique. */
  identifier: string;
  name: string;
  /** The scopes it defines: offered only to clients allowed this API. */
  scopes: string[];
  /** The format of its access tokens; null: the client's own setting. */
  accessTokenFormat: AccessTokenFormat | null;
  /** Its access tokens' lifetime in seconds; null: the server's (TESSERA_ACCESS_TOKEN_TTL). */
  accessTokenTtl: number | null;
  /**
   * Clients that registered themselves (dynamic registration, metadata documents) may ask for it
   * and its scopes without an admin allowing them: how an MCP server is reached by clients
   * nobody registered.
   */
  openToSelfRegistered: boolean;
  /**
   * The client row it authenticates as at /introspect (a resource server with no grant types),
   * so that client authentication is the clients' own.
   */
  clientId: string;
  createdAt: number;
  updatedAt: number;
}

export type NewApi = Omit<Api, 'updatedAt'>;
export type ApiPatch = Partial<
  Pick<Api, 'name' | 'scopes' | 'accessTokenFormat' | 'accessTokenTtl' | 'openToSelfRegistered'>
>;

/** A unique field already holds this value. */
export class ConflictError extends Error {
  constructor(readonly field: string) {
    super(`${field} is already taken`);
    this.name = 'ConflictError';
  }
}

/**
 * The database cannot serve this request now, through no fault of the request:
 * answered 503 with `Retry-After`. `retryAfter` is in seconds.
 */
export class StoreUnavailableError extends Error {
  constructor(
    message: string,
    readonly retryAfter: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StoreUnavailableError';
  }
}

/**
 * Another process holds the database's write lock (SQLite) and did not let go
 * within a short wait; reads still work. The wait never blocks the event loop.
 */
export class StoreBusyError extends StoreUnavailableError {
  constructor(message: string, retryAfter: number, options?: { cause?: unknown }) {
    super(message, retryAfter, options);
    this.name = 'StoreBusyError';
  }
}

export interface ListOptions {
  limit: number;
  offset: number;
  /** Matches the start of username or e-mail, case-insensitively. */
  search?: string;
}

export interface UserStore {
  /** @throws ConflictError('username' | 'email') */
  create(user: NewUser): Promise<User>;
  findById(id: string): Promise<User | undefined>;
  /** By username or e-mail, case-insensitively. */
  findByLogin(login: string): Promise<User | undefined>;
  /** @throws ConflictError('username' | 'email') */
  update(id: string, patch: UserPatch, now: number): Promise<User | undefined>;
  /** The account that asked most recently to change its address to `email` (case and form ignored). */
  findByPendingEmail(email: string): Promise<User | undefined>;
  /**
   * Clears `email` (case and form ignored) from the pending address of every account but
   * `keepId`: the address became `keepId`'s. The number of accounts cleared.
   */
  dropPendingEmail(email: string, keepId: string, now: number): Promise<number>;
  /**
   * Replaces the password hash only while it is still `oldHash` (a re-hash with new argon2id
   * parameters at sign-in): a change made meanwhile wins. Leaves `updated_at` as it was; false
   * when the hash had changed or the account is gone.
   */
  replacePasswordHash(id: string, oldHash: string, newHash: string): Promise<boolean>;
  /** Deletes the user with every grant, code, token and session of theirs. */
  delete(id: string): Promise<boolean>;
  list(options: ListOptions): Promise<User[]>;
  count(search?: string): Promise<number>;
}

export interface ClientStore {
  create(client: NewClient): Promise<Client>;
  findById(id: string): Promise<Client | undefined>;
  list(): Promise<Client[]>;
  update(id: string, patch: ClientPatch, now: number): Promise<Client | undefined>;
  /** Deletes the client with every grant, code, token and session link of its. */
  delete(id: string): Promise<boolean>;
}

export interface ApiStore {
  /** @throws ConflictError('identifier') */
  create(api: NewApi): Promise<Api>;
  findById(id: string): Promise<Api | undefined>;
  findByIdentifier(identifier: string): Promise<Api | undefined>;
  list(): Promise<Api[]>;
  update(id: string, patch: ApiPatch, now: number): Promise<Api | undefined>;
  /** Deletes the API and the client row it introspects with (and that client's tokens). */
  delete(id: string): Promise<boolean>;
}

/** OpenID Connect Registration §2: a web app (the default) or a native app (RFC 8252). */
export type ApplicationType = 'web' | 'native';

/** An initial access token (RFC 7591 §3): lets whoever holds it register a client. */
export interface InitialAccessToken {
  id: string;
  /** SHA-256 of the token; the token itself is shown once, when it is made. */
  tokenHash: string;
  createdAt: number;
  /** Unusable from this time on; never expires when null. */
  expiresAt: number | null;
  /** Registrations it may still make; unlimited when null. */
  usesLeft: number | null;
}

/** What a client that registered itself has besides its client record (RFC 7592). */
export interface RegistrationRecord {
  clientId: string;
  /** SHA-256 of its registration access token. */
  accessTokenHash: string;
  applicationType: ApplicationType;
}

/** Initial access tokens and the registration records of self-registered clients. */
export interface RegistrationStore {
  createInitialToken(token: InitialAccessToken): Promise<void>;
  listInitialTokens(): Promise<InitialAccessToken[]>;
  findInitialToken(tokenHash: string): Promise<InitialAccessToken | undefined>;
  /**
   * Spends one use of the token in one conditional update: the token as it is after, or
   * undefined when it is unknown, expired at `now` or used up. Of concurrent callers on a last
   * use, exactly one gets it.
   */
  spendInitialToken(tokenHash: string, now: number): Promise<InitialAccessToken | undefined>;
  deleteInitialToken(id: string): Promise<boolean>;
  saveRecord(record: RegistrationRecord): Promise<void>;
  /** Changes the application type of a client's record; false when it has none. */
  setApplicationType(clientId: string, applicationType: ApplicationType): Promise<boolean>;
  findRecord(clientId: string): Promise<RegistrationRecord | undefined>;
}

/** What GrantStore.change writes on a grant. */
export interface GrantChange {
  scopes: string[];
  claims: string[];
  /** API identifiers to add to the grant's resources; those stored always stay. */
  resources?: string[];
}

export interface GrantStore {
  find(userId: string, clientId: string): Promise<Grant | undefined>;
  findById(id: string): Promise<Grant | undefined>;
  /**
   * Creates the grant or replaces its scopes and individually consented claims. Its resources
   * are only ever added to, here as in `change`: those given join those stored.
   */
  upsert(
    userId: string,
    clientId: string,
    scopes: string[],
    now: number,
    claims?: string[],
    resources?: string[],
  ): Promise<Grant>;
  /**
   * Changes the grant of `userId` to `clientId` as `change` says, in one step that reads the
   * grant from the database itself (never a cache) with the row locked, so that two consents at
   * once, on any instances, each change what the other wrote. `change` gets the grant as stored
   * (undefined when there is none) and returns its new scopes and claims and the resources to
   * add (never removed), or undefined to leave it as it is; it may be called again,
   * with the grant a concurrent consent created, and only its last answer counts. Answers the
   * grant as stored afterwards (undefined when there is none).
   */
  change(
    userId: string,
    clientId: string,
    now: number,
    change: (current: Grant | undefined) => GrantChange | undefined,
  ): Promise<Grant | undefined>;
  /** Moves "last used" on; a store may skip writes less than a minute after its last one. */
  touch(id: string, now: number): Promise<void>;
  listForUser(userId: string): Promise<GrantWithClient[]>;
  /** Deletes the grant and revokes every code and token issued under it. */
  revoke(id: string, now: number): Promise<boolean>;
}

export interface CodeStore {
  save(code: AuthorizationCode): Promise<void>;
  /**
   * Marks the code used and returns it, exactly once; an atomic update, never find-then-delete.
   * With `clientId`, a code issued to another client is not spent (`other_client`).
   */
  consume(id: string, now: number, clientId?: string): Promise<ConsumeResult>;
  /**
   * A code and the person it was issued for, in one lookup; spends nothing. `backed`: its grant
   * still exists and its session (when it has one) still exists and has not ended.
   */
  findWithUser(
    id: string,
  ): Promise<{ code: AuthorizationCode; user: User | undefined; backed: boolean } | undefined>;
  /**
   * The code exchange's one write: consumes the code as `consume` does (with `clientId`) and, only
   * if this call consumed it, stores the tokens issued from it, in one commit. A concurrent
   * replay that finds the code spent therefore finds these tokens stored, to revoke.
   */
  redeem(redemption: Redemption): Promise<ConsumeResult>;
}

export interface DeviceCodeStore {
  save(code: DeviceCode): Promise<void>;
  /** By the hash of the device code; spends nothing. */
  find(id: string): Promise<DeviceCode | undefined>;
  /** By the hash of the normalised user code; spends nothing. */
  findByUserCode(userCodeHash: string): Promise<DeviceCode | undefined>;
  /**
   * Records the person's answer, once: only while the code is pending and unexpired (one
   * conditional update). False when it was answered already or has expired.
   */
  decide(id: string, decision: DeviceDecision, now: number): Promise<boolean>;
  /**
   * Records a poll at `now` of a code last polled at `previous`, setting its interval to
   * `interval`; false when another poll was recorded in between (that one counts, this one is
   * too soon).
   */
  recordPoll(id: string, previous: number | null, now: number, interval: number): Promise<boolean>;
  /**
   * Spends an approved, unexpired code of `clientId` once and, only if this call spent it, stores
   * the tokens issued from it, in one commit. The code as it was spent, or undefined.
   */
  redeem(redemption: Redemption): Promise<DeviceCode | undefined>;
}

export interface Redemption {
  /** SHA-256 of the code. */
  id: string;
  clientId: string;
  now: number;
  tokens: TokenRecord[];
}

export interface Rotation {
  /** SHA-256 of the presented refresh token. */
  id: string;
  /** The tokens that replace it, in its family. */
  successors: TokenRecord[];
  now: number;
}

export interface TokenStore {
  save(token: TokenRecord): Promise<void>;
  /** Saves several tokens in one statement: all or none. */
  saveAll(tokens: TokenRecord[]): Promise<void>;
  find(id: string): Promise<TokenRecord | undefined>;
  /** A token and the person it was issued for (undefined for a client's own token), in one lookup. */
  findWithUser(id: string): Promise<{ token: TokenRecord; user: User | undefined } | undefined>;
  /**
   * The refresh grant's one write: stores the successors and marks the presented refresh token
   * rotated, exactly once, in one commit. The successors are stored whether or not it was
   * spent: the caller either hands them out (a retry within the grace window) or revokes the
   * family with them in it, so that a reuse racing the winner revokes the winner's tokens too.
   */
  rotate(rotation: Rotation): Promise<RotateResult>;
  /** Revokes one token; returns false when there was none to revoke. */
  revoke(id: string, now: number): Promise<boolean>;
  /** Records the revocation of a token that was never stored (a stateless JWT). */
  revokeUnstored(token: Omit<TokenRecord, 'revokedAt' | 'rotatedAt'>, now: number): Promise<void>;
  revokeFamily(familyId: string, now: number): Promise<number>;
  /** Revokes every refresh token of a client (it lost its secret: they were bound to it). */
  revokeRefreshTokensOfClient(clientId: string, now: number): Promise<number>;
  /**
   * Revokes every refresh token of a person, whatever the app, offline ones included (their
   * password was reset: whoever held the account must not keep it through an app).
   */
  revokeRefreshTokensOfUser(userId: string, now: number): Promise<number>;
}

/** A link mailed by "Forgot password?"; the token itself is only in the mail. */
export interface PasswordReset {
  /** SHA-256 of the token. */
  tokenHash: string;
  userId: string;
  createdAt: number;
  /** The link works while `now < expiresAt`. */
  expiresAt: number;
  /** When it was spent or ended; null while it can be used. */
  usedAt: number | null;
}

export interface PasswordResetStore {
  save(reset: PasswordReset): Promise<void>;
  /** A link that can still be used at `now` (unspent, unexpired), by hash; spends nothing. */
  findUsable(tokenHash: string, now: number): Promise<PasswordReset | undefined>;
  /**
   * Spends a usable link, exactly once: one conditional update, so that of any number of
   * concurrent callers one gets the row. Undefined when it was used, has expired or is unknown.
   */
  consume(tokenHash: string, now: number): Promise<PasswordReset | undefined>;
  /** Ends every usable link of the person; the number ended. */
  endAllOfUser(userId: string, now: number): Promise<number>;
}

/** What a sign-in's session is made under: the password hash that was checked. */
export interface SessionGuard {
  /**
   * The person's password hash as verified: the session is made only if it is still theirs,
   * so that a sign-in racing a password change cannot outlive it.
   */
  passwordHash: string;
}

/** What a renewed sign-in replaces in a session: a new secret, time and method, a new end. */
export type SessionRenewal = Pick<
  Session,
  'secretHash' | 'authTime' | 'amr' | 'acr' | 'userAgent' | 'ip' | 'lastSeenAt' | 'expiresAt'
>;

export interface SessionStore {
  /** Stores a new session; with `guard`, only if the guard holds (false when it does not). */
  create(session: Session, guard?: SessionGuard): Promise<boolean>;
  /**
   * Renews an active session in place (the same person signed in again): its id, tokens and
   * apps are kept. Undefined when the session has ended, or the guard does not hold.
   */
  renew(id: string, renewal: SessionRenewal, guard?: SessionGuard): Promise<Session | undefined>;
  /** An active (not ended, not expired) session by its cookie hash. */
  findActiveBySecret(secretHash: string, now: number): Promise<Session | undefined>;
  findById(id: string): Promise<Session | undefined>;
  /** Moves "last seen" to `now`; the domain decides how often (domain/sessions.ts). */
  touch(id: string, now: number): Promise<void>;
  /**
   * Ends a session, once, with what belongs to it: the tokens issued in it (every token that
   * carries its id; refresh tokens granted `offline_access` carry none) and its unused codes.
   * Only domain/sessions.ts calls this, so that every ending runs its hooks and is audited.
   */
  end(id: string, now: number): Promise<boolean>;
  listActiveForUser(userId: string, now: number): Promise<Session[]>;
  /** Sessions that expired without being ended, oldest first, for the purge job to end. */
  listExpiredUnended(now: number, limit: number): Promise<Session[]>;
  /** Remembers that a client received tokens in this session (for back-channel logout). */
  addClient(sessionId: string, clientId: string, now: number): Promise<void>;
  listClients(sessionId: string): Promise<string[]>;
}

export interface KeyStore {
  /**
   * Runs `work` alone: across processes and instances, one such call at a time, on a key store
   * whose reads see the writes of every call before it (a transaction holding a lock).
   */
  exclusive<T>(work: (keys: KeyStore) => Promise<T>): Promise<T>;
  list(): Promise<SigningKey[]>;
  insert(key: SigningKey): Promise<void>;
  /** Lets a published key start signing at `at`. */
  activate(kid: string, at: number): Promise<void>;
  retire(kid: string, retiredAt: number, expiresAt: number): Promise<void>;
}

/** Values that may be used once (sign-in markers, consent forms), remembered until they expire. */
export interface MarkerStore {
  /** True the first time `id` is used; false if it was used before and has not yet expired. */
  use(id: string, expiresAt: number): Promise<boolean>;
}

/**
 * An authorization request a client pushed to /par (RFC 9126), stored until the browser brings its
 * request_uri to /authorize. `expiresAt` is the last moment it may be started; once started, the
 * time until which the person's own flow (sign-in, consent) may still resume and finish it.
 */
export interface PushedRequest {
  /** SHA-256 of the random part of the request_uri. */
  id: string;
  clientId: string;
  /** The authorization parameters as pushed (only those /authorize reads). */
  parameters: Record<string, string | string[]>;
  createdAt: number;
  expiresAt: number;
  /** When /authorize first read it: from then on it cannot be started again. */
  startedAt: number | null;
  /** When it issued its code (or was denied): from then on it cannot be resumed either. */
  finishedAt: number | null;
}

export type PushedRequestResult =
  | { status: 'ok'; request: PushedRequest }
  /** Started before (for `start`), or finished (for `resume`). */
  | { status: 'used' }
  | { status: 'expired' }
  /** Pushed by another client than the one named: left as it was. */
  | { status: 'other_client' }
  | { status: 'missing' };

export interface PushedRequestStore {
  save(request: PushedRequest): Promise<void>;
  /**
   * Marks the request started and returns it, exactly once (an atomic update), if `clientId`
   * pushed it and it has not expired; from then on it lives until `resumeUntil`.
   */
  start(
    id: string,
    clientId: string,
    now: number,
    resumeUntil: number,
  ): Promise<PushedRequestResult>;
  /** A started, unfinished and unexpired request of `clientId`; changes nothing. */
  resume(id: string, clientId: string, now: number): Promise<PushedRequestResult>;
  /** Marks a started request finished; true only for the one call that did. */
  finish(id: string, now: number): Promise<boolean>;
}

export interface AuditStore {
  record(event: NewAuditEvent): Promise<void>;
  /**
   * Newest first. `types` keeps only events of those types, or whose type starts with one that
   * ends in "." (`security.` for every security event).
   */
  list(options: {
    limit: number;
    userId?: string;
    types?: readonly string[];
  }): Promise<AuditEvent[]>;
}

/** A mail kept in the development outbox (no SMTP outside production). */
export interface OutboxMail {
  id: string;
  to: string;
  kind: string;
  subject: string;
  text: string;
  html: string;
  createdAt: number;
}

export interface MailOutboxStore {
  add(mail: OutboxMail): Promise<void>;
  /** Newest first. */
  list(limit: number): Promise<OutboxMail[]>;
}

/** Whether a browser was seen before for a person (KnownBrowserStore.see). */
export type BrowserSeen = 'known' | 'new' | 'first';

/** The browsers a person signed in from, by the SHA-256 of their `tessera_browser` cookie. */
export interface KnownBrowserStore {
  /**
   * Remembers that `userId` signed in from `browserHash` at `now`, keeping the `keep` they used
   * most recently. Answers `known` when it was remembered already, `first` when the person had
   * no browser remembered at all (their first sign-in), `new` otherwise.
   */
  see(userId: string, browserHash: string, now: number, keep: number): Promise<BrowserSeen>;
}

export interface PurgeCounts {
  codes: number;
  tokens: number;
  sessions: number;
  keys: number;
  markers: number;
  pushedRequests: number;
  audit: number;
  deviceCodes: number;
  /** Initial access tokens past their expiry (RFC 7591). */
  registrationTokens: number;
  /** Metadata-document clients left unused (PurgeOptions.documentClientsUnusedBefore). */
  documentClients: number;
  /** Development outbox mails past PurgeOptions.outbox. */
  mailOutbox: number;
  /** Password-reset links past their expiry, used or not. */
  passwordResets: number;
}

export interface PurgeOptions {
  /** Also delete audit events recorded before this time (the retention limit); kept when absent. */
  auditBefore?: number;
  /**
   * Also delete the clients read from a metadata document (registration `metadata_document`)
   * whose row was last written (created, or its document last accepted) before this time and
   * that hold no grant, code, token, device code or pushed request: anyone can make such a row
   * appear by naming a document URL, so the ones nobody consented to do not pile up.
   */
  documentClientsUnusedBefore?: number;
  /** Also delete outbox mails made before `before`, and all but the newest `keep`. */
  outbox?: { before: number; keep: number };
}

/** A person's account at another OpenID provider, linked to their local account by an admin. */
export interface ExternalIdentity {
  /** The `iss` of the other provider's ID tokens. */
  issuer: string;
  /** The `sub` of the person there. */
  subject: string;
  userId: string;
  createdAt: number;
}

export interface ExternalIdentityStore {
  /** @throws ConflictError('identity') when the issuer and subject are linked already (to anyone). */
  link(identity: ExternalIdentity): Promise<ExternalIdentity>;
  /** The local account `iss` + `sub` is linked to. */
  findUser(issuer: string, subject: string): Promise<User | undefined>;
  listForUser(userId: string): Promise<ExternalIdentity[]>;
  /** Removes one link of the user; false when there was none. */
  unlink(userId: string, issuer: string, subject: string): Promise<boolean>;
}

/** What an e-mailed code is for: verifying an address, signing in, or the code API. */
export type EmailCodePurpose = 'verify_email' | 'sign_in' | 'api';

/** A 6-digit code e-mailed to an address; the one live code of its purpose and address. */
export interface EmailCode {
  id: string;
  purpose: EmailCodePurpose;
  /** The address as accounts are looked up by it (lib/fold.ts `fold`). */
  addressKey: string;
  /** The account the address belonged to when the code was sent; null when none did. */
  userId: string | null;
  /** HMAC-SHA-256 of the code under the instance secret (a bare hash of 6 digits is reversible). */
  codeHash: string;
  /** SHA-256 of the 32-byte token of a verification link; null when the mail has no link. */
  linkHash: string | null;
  /** Tries made so far, right or wrong. */
  attempts: number;
  createdAt: number;
  expiresAt: number;
  consumedAt: number | null;
}

export interface EmailCodeStore {
  /**
   * Saves `code`, replacing the earlier code of the same purpose and address (atomically); for
   * `verify_email`, of the same purpose, address and account only, since two accounts may wait
   * to verify one address and neither's code may replace or take over the other's.
   */
  replace(code: EmailCode): Promise<void>;
  /**
   * The live or spent code of a purpose and address (for `verify_email`, of the account `userId`
   * too), if one is kept.
   */
  find(
    purpose: EmailCodePurpose,
    addressKey: string,
    userId?: string | null,
  ): Promise<EmailCode | undefined>;
  /** The usable (unspent, unexpired) code whose link token hashes to `linkHash`; spends nothing. */
  findByLink(linkHash: string, now: number): Promise<EmailCode | undefined>;
  /**
   * Counts one try, in one conditional UPDATE: only while fewer than `max` were made, the code
   * is unspent and unexpired. The row after counting, or undefined when the try was refused.
   */
  addAttempt(id: string, max: number, now: number): Promise<EmailCode | undefined>;
  /** Spends the code once: the row for exactly one caller, undefined for the others or when expired. */
  consume(id: string, now: number): Promise<EmailCode | undefined>;
  /** Spends the unexpired code whose link token hashes to `linkHash`, once. */
  consumeLink(linkHash: string, now: number): Promise<EmailCode | undefined>;
}

/** A person's authenticator app (TOTP, RFC 6238), turned on by a first right code. */
export interface TotpEnrolment {
  userId: string;
  /** The shared secret (base32), sealed under the instance secret (lib/seal.ts, purpose `totp`). */
  secretSealed: string;
  enabledAt: number;
  /** The time step of the last code accepted: only codes of later steps are accepted. */
  lastStep: number;
}

export interface TotpStore {
  find(userId: string): Promise<TotpEnrolment | undefined>;
  /**
   * Turns TOTP on with its recovery codes (hashes), in one transaction; false when the person
   * has it on already (the enrolment of another browser won).
   */
  enable(enrolment: TotpEnrolment, recoveryCodeHashes: string[]): Promise<boolean>;
  /**
   * Accepts a code of time step `step`: one conditional UPDATE that succeeds only when `step` is
   * later than the last one accepted, so that a code (or an older one) is accepted once, however
   * many requests present it at the same time.
   */
  acceptStep(userId: string, step: number): Promise<boolean>;
  /** Turns TOTP off: the enrolment and every recovery code go; false when it was off. */
  disable(userId: string): Promise<boolean>;
  /** Replaces every recovery code of the person, used or not, with new ones (hashes). */
  replaceRecoveryCodes(userId: string, codeHashes: string[], now: number): Promise<void>;
  /** Spends an unused recovery code, once: one conditional UPDATE; false when none matches. */
  useRecoveryCode(userId: string, codeHash: string, now: number): Promise<boolean>;
  /** The recovery codes not used yet. */
  countRecoveryCodes(userId: string): Promise<number>;
}

/** A passkey (WebAuthn credential) a person registered: one of their ways to sign in. */
export interface Passkey {
  /** The credential id the authenticator chose, base64url. */
  id: string;
  userId: string;
  /** The person's label for it, at most 64 characters. */
  name: string;
  /** The credential's COSE public key, base64url. */
  publicKey: string;
  /** The authenticator's signature counter as last seen; 0 for authenticators that keep none. */
  counter: number;
  /** How the browser may reach the authenticator ('internal', 'usb', 'hybrid', …). */
  transports: string[];
  /** 'multiDevice': synced between devices (a cloud keychain); 'singleDevice': bound to one. */
  deviceType: 'singleDevice' | 'multiDevice';
  backedUp: boolean;
  /** The authenticator model's AAGUID; all zeros when it did not say (attestation 'none'). */
  aaguid: string;
  createdAt: number;
  lastUsedAt: number | null;
}

export interface PasskeyStore {
  /** @throws ConflictError('passkey') when the credential id is registered already (to anyone). */
  add(passkey: Passkey): Promise<Passkey>;
  /** The person's passkeys, oldest first. */
  listForUser(userId: string): Promise<Passkey[]>;
  countForUser(userId: string): Promise<number>;
  findById(id: string): Promise<Passkey | undefined>;
  /**
   * Records a use: the new counter and when. False, and nothing changed, when the counter did not
   * go up (a cloned authenticator, or a concurrent use of the same assertion), unless the
   * authenticator keeps no counter (it was 0 and stays 0).
   */
  updateAfterUse(id: string, counter: number, usedAt: number): Promise<boolean>;
  /** Renames one of the person's passkeys; false when they have none with this id. */
  rename(userId: string, id: string, name: string): Promise<boolean>;
  /** Removes one of the person's passkeys; false when they have none with this id. */
  remove(userId: string, id: string): Promise<boolean>;
}

export interface Store {
  readonly dialect: 'sqlite' | 'postgres';
  users: UserStore;
  totp: TotpStore;
  externalIdentities: ExternalIdentityStore;
  passkeys: PasskeyStore;
  clients: ClientStore;
  apis: ApiStore;
  grants: GrantStore;
  codes: CodeStore;
  deviceCodes: DeviceCodeStore;
  tokens: TokenStore;
  sessions: SessionStore;
  keys: KeyStore;
  markers: MarkerStore;
  pushedRequests: PushedRequestStore;
  registrations: RegistrationStore;
  audit: AuditStore;
  emailCodes: EmailCodeStore;
  outbox: MailOutboxStore;
  browsers: KnownBrowserStore;
  passwordResets: PasswordResetStore;
  /**
   * Throws when the database cannot serve requests: cannot be reached, or (SQLite)
   * cannot be written because another process holds its lock (StoreBusyError).
   */
  ping(): Promise<void>;
  /** Deletes what expired before `now`, and audit events older than `options.auditBefore`. */
  purgeExpired(now: number, options?: PurgeOptions): Promise<PurgeCounts>;
  close(): Promise<void>;
}
