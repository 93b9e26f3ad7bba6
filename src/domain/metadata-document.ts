import { domainToASCII, domainToUnicode } from 'node:url';
import {
  CLIENT_DEFAULTS,
  type ClientInput,
  type ClientMetadata,
  type ClientRules,
  resolveClient,
} from './client-rules.js';
import { ValidationError } from './errors.js';

/**
 * The rules of a Client ID Metadata Document (draft-ietf-oauth-client-id-metadata-document):
 * which client ids name one, which hosts may serve one, and what a document must hold to be
 * accepted as a client. No I/O here: domain/metadata-documents.ts fetches and keeps them.
 */

/** The longest URL client id looked at; ordinary ids stay within MAX_CLIENT_ID_LENGTH. */
export const MAX_URL_CLIENT_ID_LENGTH = 1024;
/** The longest client id of any other kind (ids Tessera makes are much shorter). */
export const MAX_CLIENT_ID_LENGTH = 200;

/**
 * Whether a presented client id is short enough to be looked up at all: the abuse counters
 * are keyed by it, so a made-up id of any length must not reach them.
 */
export function isClientIdLength(id: string): boolean {
  return (
    id.length <= MAX_CLIENT_ID_LENGTH ||
    (id.length <= MAX_URL_CLIENT_ID_LENGTH && looksLikeDocumentUrl(id))
  );
}

/** An http(s) URL: what is handled as a metadata document's URL (and refused when not a good one). */
export function looksLikeDocumentUrl(id: string): boolean {
  return /^https?:\/\//i.test(id);
}

/** Why a client id cannot name a metadata document (draft §3), or undefined when it can. */
export function documentUrlProblem(id: string): string | undefined {
  let url: URL;
  try {
    url = new URL(id);
  } catch {
    return 'the client_id is not a valid URL';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'the client_id must be https';
  if (id.includes('#')) return 'the client_id URL must not have a fragment';
  if (url.username !== '' || url.password !== '')
    return 'the client_id URL must not contain a user name or password';
  const hostRefused = hostSpellingProblem(url.hostname);
  if (hostRefused) return hostRefused;
  if (url.pathname === '/' || url.pathname === '')
    return 'the client_id URL must have a path (draft-ietf-oauth-client-id-metadata-document §3)';
  // The URL parser resolves dot segments, so the id as sent must not hold any.
  if (/\/\.\.?(?:\/|$|\?)/.test(id.replace(/^https?:\/\/[^/]+/i, '')))
    return 'the client_id URL must not contain "." or ".." path segments';
  // The document is compared with the id as sent: a URL the parser rewrites cannot match.
  if (url.href !== id) return 'the client_id URL is not in its normal form';
  return undefined;
}

/**
 * Why a URL's host name is not in its one canonical spelling, or undefined when it is: the
 * allow and deny lists compare names as text, so `evil.example.com.` (the same host, fully
 * qualified), an empty label, or an IDN label that does not decode and encode back to itself
 * would slip past `evil.example.com`. The URL parser already lowercases, decodes percent-escapes
 * and encodes Unicode names to xn-- labels; documentUrlProblem refuses ids it rewrote that way.
 */
export function hostSpellingProblem(hostname: string): string | undefined {
  if (hostname.startsWith('[')) return undefined; // an IPv6 literal, already in its normal form
  const refused = `the client_id URL's host ${hostname} is not written in its canonical form`;
  if (hostname.endsWith('.')) return `${refused} (no trailing dot)`;
  if (!/^[a-z0-9-]+(?:\.[a-z0-9-]+)*$/.test(hostname)) return refused;
  const unicode = domainToUnicode(hostname);
  // A label that does not decode is left as written by some Node versions: still xn--, refused.
  if (domainToASCII(unicode) !== hostname || /(?:^|\.)xn--/.test(unicode)) return refused;
  return undefined;
}

/**
 * Host names and `*.example.com` patterns, from a setting listing them by commas or spaces, in
 * the spelling URL hosts are compared in: lowercase, no trailing dot, Unicode names as xn-- labels.
 */
export function parseHostList(raw: string | undefined): string[] {
  return (raw ?? '')
    .split(/[\s,]+/)
    .map((h) => canonicalPattern(h.trim().toLowerCase().replace(/\.$/, '')))
    .filter(Boolean);
}

function canonicalPattern(pattern: string): string {
  const wildcard = pattern.startsWith('*.');
  const name = wildcard ? pattern.slice(2) : pattern;
  // domainToASCII answers '' for a name it cannot encode: kept as written, it matches nothing.
  const ascii = /^[\x21-\x7e]*$/.test(name) ? name : domainToASCII(name) || name;
  return wildcard ? `*.${ascii}` : ascii;
}

/** Whether `host` is one of `patterns`: an exact name, or `*.name` for any name below it. */
export function hostMatches(host: string, patterns: string[]): boolean {
  const name = host.toLowerCase();
  return patterns.some((p) => (p.startsWith('*.') ? name.endsWith(p.slice(1)) : name === p));
}

/** The hosts documents may be fetched from: `allow` empty means any; `deny` wins. */
export interface HostPolicy {
  allow: string[];
  deny: string[];
}

/** Why documents from `host` are not accepted, or undefined when they are. */
export function hostProblem(host: string, policy: HostPolicy): string | undefined {
  if (hostMatches(host, policy.deny)) return `client metadata documents from ${host} are refused`;
  if (policy.allow.length > 0 && !hostMatches(host, policy.allow))
    return `client metadata documents from ${host} are not allowed`;
  return undefined;
}

/** Fields that only a client given a secret has: a published document cannot hold a secret. */
const SECRET_FIELDS = ['client_secret', 'client_secret_expires_at'];
const ACCEPTED_METHODS = ['none', 'private_key_jwt'];
const ACCEPTED_GRANTS = ['authorization_code', 'refresh_token'];

function optionalString(doc: Record<string, unknown>, field: string): string | undefined {
  const value = doc[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new ValidationError(field, `${field} must be a string`);
  return value;
}

/** client_uri and logo_uri, when present: https URLs (they are shown to people, never fetched). */
function checkShownUri(doc: Record<string, unknown>, field: string): void {
  const value = optionalString(doc, field);
  if (value === undefined) return;
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (url?.protocol !== 'https:' && url?.protocol !== 'http:')
    throw new ValidationError(field, `${field} must be an https URL`);
}

/**
 * The client a fetched document describes, checked as the draft and Tessera's client rules
 * require: `client_id` equal to the URL it was fetched from, `redirect_uris` given (the only ones
 * accepted), `none` (the default) or `private_key_jwt` with its keys, no secret, only the code and
 * refresh grants, PKCE always. The name is the document's `client_name`, else the URL's host: it
 * is what the client says of itself, and the consent page marks it so. Throws ValidationError
 * naming the first problem.
 */
export function clientFromDocument(
  url: string,
  value: unknown,
  rules: ClientRules,
): ClientMetadata {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new ValidationError('document', 'the document is not a JSON object');
  const doc = value as Record<string, unknown>;
  if (doc.client_id !== url) {
    throw new ValidationError(
      'client_id',
      'the document’s client_id is not the URL it was fetched from',
    );
  }
  for (const field of SECRET_FIELDS) {
    if (doc[field] !== undefined)
      throw new ValidationError(field, `the document must not contain ${field}`);
  }
  const method = optionalString(doc, 'token_endpoint_auth_method') ?? 'none';
  if (!ACCEPTED_METHODS.includes(method)) {
    throw new ValidationError(
      'token_endpoint_auth_method',
      `token_endpoint_auth_method must be none or private_key_jwt, not ${method}: a published document cannot hold a shared secret`,
    );
  }
  const redirectUris = doc.redirect_uris;
  if (!Array.isArray(redirectUris) || redirectUris.length === 0)
    throw new ValidationError('redirect_uris', 'redirect_uris is required and must not be empty');
  const grantTypes = doc.grant_types ?? ACCEPTED_GRANTS;
  if (
    !Array.isArray(grantTypes) ||
    grantTypes.some((g) => typeof g !== 'string' || !ACCEPTED_GRANTS.includes(g))
  ) {
    throw new ValidationError(
      'grant_types',
      'grant_types may hold only authorization_code and refresh_token',
    );
  }
  const responseTypes = doc.response_types ?? ['code'];
  if (!Array.isArray(responseTypes) || responseTypes.some((r) => r !== 'code'))
    throw new ValidationError('response_types', 'response_types may hold only code');
  checkShownUri(doc, 'client_uri');
  checkShownUri(doc, 'logo_uri');
  const name = optionalString(doc, 'client_name') ?? new URL(url).host;
  const input: ClientInput = {
    name,
    redirectUris: redirectUris as string[],
    tokenEndpointAuthMethod: method,
    grantTypes: grantTypes as string[],
    responseTypes: ['code'],
  };
  if (doc.post_logout_redirect_uris !== undefined)
    input.postLogoutRedirectUris = doc.post_logout_redirect_uris as string[];
  if (doc.jwks !== undefined) input.jwks = doc.jwks;
  if (doc.jwks_uri !== undefined) input.jwksUri = doc.jwks_uri as string;
  const alg = optionalString(doc, 'token_endpoint_auth_signing_alg');
  if (alg !== undefined) input.tokenEndpointAuthSigningAlg = alg;
  const base: ClientMetadata = {
    ...CLIENT_DEFAULTS,
    name,
    // Every such client proves its requests with PKCE, the public ones above all.
    requirePkce: true,
    firstParty: false,
    registration: 'metadata_document',
  };
  return resolveClient(base, input, rules);
}

/**
 * What a person must know of a client that described itself, since its name proves nothing:
 * a metadata-document client's host (its client_id URL's), or, for a client that registered
 * itself (RFC 7591), the host this request will send the person back to.
 */
export interface SelfDescribed {
  kind: 'document' | 'registered';
  host: string;
  /** Every redirect URI is on this computer (localhost or loopback): an app run locally. */
  localOnly: boolean;
}

/** The facts the consent page shows for a self-described client; undefined for an admin's. */
export function selfDescribed(
  client: { id: string; registration: string; redirectUris: string[] },
  redirectUri: string,
): SelfDescribed | undefined {
  if (client.registration === 'admin') return undefined;
  const localOnly = client.redirectUris.every((uri) => {
    try {
      const host = new URL(uri).hostname.replace(/^\[|\]$/g, '').toLowerCase();
      return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
    } catch {
      return false;
    }
  });
  if (client.registration === 'metadata_document') {
    return { kind: 'document', host: new URL(client.id).host, localOnly };
  }
  let host: string;
  try {
    host = new URL(redirectUri).host || redirectUri;
  } catch {
    host = redirectUri;
  }
  return { kind: 'registered', host, localOnly };
}
