import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import type { FastifyReply } from 'fastify';
import { PasskeyError } from '../../domain/webauthn-ceremony.js';
import type { ErrorBody } from '../../error-catalogue.js';

/*
 * The passkey endpoints speak JSON with the page's script (assets/passkeys.js): the browser's
 * credential, encoded as WebAuthn's toJSON() does (base64url), comes in; options, errors and
 * where to go next go out.
 */

/** A request that is not what the script sends: 400 invalid_request naming the field. */
export class MalformedCredential extends Error {
  constructor(readonly field: string) {
    super(`"${field}" is missing or malformed`);
    this.name = 'MalformedCredential';
  }
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;
/** Far above any real credential part (a credential id is at most 1023 bytes). */
const MAX_PART = 16 * 1024;

function part(value: unknown, field: string, optional = false): string | undefined {
  if (value === undefined && optional) return undefined;
  if (typeof value !== 'string' || value.length > MAX_PART || !BASE64URL.test(value)) {
    throw new MalformedCredential(field);
  }
  return value;
}

function record(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new MalformedCredential(field);
  }
  return value as Record<string, unknown>;
}

function common(body: unknown) {
  const credential = record(record(body, 'body').credential, 'credential');
  const id = part(credential.id, 'credential.id')!;
  if (id === '' || part(credential.rawId, 'credential.rawId') !== id) {
    throw new MalformedCredential('credential.rawId');
  }
  if (credential.type !== 'public-key') throw new MalformedCredential('credential.type');
  return { id, response: record(credential.response, 'credential.response') };
}

/** The `credential` of a registration (navigator.credentials.create()), only the fields used. */
export function readRegistration(body: unknown): RegistrationResponseJSON {
  const { id, response } = common(body);
  const transports = response.transports;
  if (
    transports !== undefined &&
    (!Array.isArray(transports) ||
      transports.length > 10 ||
      !transports.every((t) => typeof t === 'string' && /^[a-z-]{1,20}$/.test(t)))
  ) {
    throw new MalformedCredential('credential.response.transports');
  }
  return {
    id,
    rawId: id,
    type: 'public-key',
    clientExtensionResults: {},
    response: {
      clientDataJSON: part(response.clientDataJSON, 'credential.response.clientDataJSON')!,
      attestationObject: part(response.attestationObject, 'credential.response.attestationObject')!,
      ...(transports ? { transports: transports as string[] } : {}),
    },
  };
}

/** The `credential` of an assertion (navigator.credentials.get()), only the fields used. */
export function readAssertion(body: unknown): AuthenticationResponseJSON {
  const { id, response } = common(body);
  const userHandle = part(response.userHandle ?? undefined, 'credential.response.userHandle', true);
  return {
    id,
    rawId: id,
    type: 'public-key',
    clientExtensionResults: {},
    response: {
      clientDataJSON: part(response.clientDataJSON, 'credential.response.clientDataJSON')!,
      authenticatorData: part(response.authenticatorData, 'credential.response.authenticatorData')!,
      signature: part(response.signature, 'credential.response.signature')!,
      ...(userHandle ? { userHandle } : {}),
    },
  };
}

export function sendError(
  reply: FastifyReply,
  status: number,
  error: 'invalid_request' | 'invalid_passkey' | 'reauthentication_required',
  description: string,
  field?: string,
): FastifyReply {
  const body: ErrorBody = { error, error_description: description, ...(field ? { field } : {}) };
  return reply.code(status).header('cache-control', 'no-store').send(body);
}

/**
 * A route's onSend hook: the 303 that ends a sign-in (sign-in-flow.ts) becomes `{"redirect"}`,
 * for the script to follow, since fetch() cannot read where a redirect goes. The cookies it set
 * stay.
 */
export async function redirectAsJson(
  _request: unknown,
  reply: FastifyReply,
  payload: unknown,
): Promise<unknown> {
  const location = reply.getHeader('location');
  if (reply.statusCode !== 303 || typeof location !== 'string') return payload;
  reply.removeHeader('location');
  reply.code(200).type('application/json; charset=utf-8');
  return JSON.stringify({ redirect: location });
}

/** Answers a failed ceremony with its named error; anything else goes to the error handler. */
export function passkeyFailure(reply: FastifyReply, error: unknown): FastifyReply {
  if (error instanceof MalformedCredential) {
    return sendError(reply, 400, 'invalid_request', error.message, error.field);
  }
  if (error instanceof PasskeyError) return sendError(reply, 400, 'invalid_passkey', error.message);
  throw error;
}
