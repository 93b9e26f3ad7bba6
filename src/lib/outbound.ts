import { type LookupAddress, lookup } from 'node:dns';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { isInternalAddress, isLoopbackAddress } from './addresses.js';

/** A request Tessera's server was about to make to an address it must not reach. */
export class InternalAddressError extends Error {
  constructor(host: string, address: string) {
    super(`${host} is, or resolves to, an internal address (${address})`);
    this.name = 'InternalAddressError';
  }
}

/** Whether a request may connect to `address`: any public one, and loopback when allowed. */
function reachable(address: string, allowLoopback: boolean): boolean {
  return !isInternalAddress(address) || (allowLoopback && isLoopbackAddress(address));
}

/**
 * A DNS lookup that fails when any address of the name is internal (loopback excepted when
 * `allowLoopback`): checked on the addresses the connection will use, so a name that resolves
 * elsewhere at registration (or a DNS rebind between a check and the call) cannot reach the
 * internal network.
 */
function guardedLookup(allowLoopback: boolean): LookupFunction {
  return (hostname, options, callback) => {
    lookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
      if (error) return callback(error, '', 0);
      const internal = addresses.find((a) => !reachable(a.address, allowLoopback));
      if (internal || addresses.length === 0) {
        return callback(new InternalAddressError(hostname, internal?.address ?? 'none'), '', 0);
      }
      if (options.all) return (callback as (e: null, a: LookupAddress[]) => void)(null, addresses);
      return callback(null, addresses[0]!.address, addresses[0]!.family);
    });
  };
}

const externalOnly = guardedLookup(false);
const externalOrLoopback = guardedLookup(true);

export interface OutboundOptions {
  /** The whole request's deadline. */
  timeoutMs: number;
  /** Refuse loopback, private and link-local addresses (in production). */
  externalOnly: boolean;
  /** With `externalOnly`, still allow loopback addresses (a development setting). */
  allowLoopback?: boolean;
  /**
   * Accept any TLS certificate: only for a URL whose host is a loopback IP literal, where the
   * traffic never leaves the machine and a development server's certificate is self-signed.
   */
  loopbackAnyCertificate?: boolean;
}

/** The lookup option of a request: the guarded lookup when internal addresses are refused. */
function lookupOption(options: OutboundOptions): { lookup?: LookupFunction } {
  if (!options.externalOnly) return {};
  return { lookup: options.allowLoopback ? externalOrLoopback : externalOnly };
}

/** `rejectUnauthorized: false` when asked for and the host is a loopback IP literal, else nothing. */
function tlsOption(target: URL, options: OutboundOptions): { rejectUnauthorized?: false } {
  const host = target.hostname.replace(/^\[|\]$/g, '');
  if (!options.loopbackAnyCertificate || target.protocol !== 'https:') return {};
  return isLoopbackAddress(host) ? { rejectUnauthorized: false } : {};
}

/** Refuses a URL whose host is an internal IP literal (a literal is never looked up). */
function refuseInternalLiteral(target: URL, options: OutboundOptions): void {
  const host = target.hostname.replace(/^\[|\]$/g, '');
  if (options.externalOnly && isIP(host) && !reachable(host, options.allowLoopback ?? false)) {
    throw new InternalAddressError(host, host);
  }
}

/**
 * POSTs a form to `url` from Tessera's server (a back-channel logout), never following
 * redirects, reading no more of the answer than its status. Resolves with the status.
 */
export function postFormOutbound(
  url: string,
  form: Record<string, string>,
  options: OutboundOptions,
): Promise<number> {
  const target = new URL(url);
  try {
    refuseInternalLiteral(target, options);
  } catch (error) {
    return Promise.reject(error);
  }
  const body = new URLSearchParams(form).toString();
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      target,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'content-length': Buffer.byteLength(body),
        },
        signal: AbortSignal.timeout(options.timeoutMs),
        ...lookupOption(options),
      },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** What a GET answered. */
export interface OutboundAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** An answer whose body was larger than the caller allowed. */
export class TooLargeError extends Error {
  constructor(url: string, maxBytes: number) {
    super(`the answer from ${url} is larger than ${maxBytes} bytes`);
    this.name = 'TooLargeError';
  }
}

/**
 * GETs `url` from Tessera's server (a client's `jwks_uri` or metadata document), never following redirects, reading
 * at most `maxBytes` of the body: a longer one is cut off and refused, so a hostile URL cannot
 * make Tessera read without end. Resolves with the status, the headers and the body.
 */
export function getOutbound(
  url: string,
  options: OutboundOptions & { maxBytes: number; accept?: string },
): Promise<OutboundAnswer> {
  const target = new URL(url);
  try {
    refuseInternalLiteral(target, options);
  } catch (error) {
    return Promise.reject(error);
  }
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      target,
      {
        method: 'GET',
        headers: { accept: options.accept ?? 'application/json' },
        signal: AbortSignal.timeout(options.timeoutMs),
        ...lookupOption(options),
        ...tlsOption(target, options),
      },
      (res) => {
        const declared = Number(res.headers['content-length']);
        if (declared > options.maxBytes) {
          req.destroy();
          reject(new TooLargeError(url, options.maxBytes));
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > options.maxBytes) {
            req.destroy();
            reject(new TooLargeError(url, options.maxBytes));
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}
