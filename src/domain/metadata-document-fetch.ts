import type { Config } from '../config.js';
import {
  getOutbound,
  InternalAddressError,
  type OutboundAnswer,
  TooLargeError,
} from '../lib/outbound.js';
import type { ClientMetadata } from './client-rules.js';
import { ValidationError } from './errors.js';
import { clientFromDocument } from './metadata-document.js';
import type { DocumentLimits } from './metadata-documents.js';

/**
 * One fetch of a Client ID Metadata Document and the reading of its answer, each failure a
 * MetadataDocumentError whose message says what went wrong (metadata-documents.ts decides when
 * to fetch and what to keep).
 */

/** A client id whose metadata document could not be fetched or was not acceptable; the message says why. */
export class MetadataDocumentError extends Error {
  override name = 'MetadataDocumentError';
  /**
   * The document could not be had (a timeout, a network failure, a 5xx): a client accepted
   * before may be answered from its last record meanwhile. Otherwise its publisher changed or
   * withdrew it (a 4xx, a redirect, bad JSON, a refused value), and that is the answer.
   */
  readonly transient: boolean;

  constructor(message: string, options: { cause?: unknown; transient?: boolean } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.transient = options.transient ?? false;
  }
}

/** GETs the document (public addresses only, no redirect), refusing any answer but a 200. */
export async function fetchDocument(
  url: string,
  limits: Pick<DocumentLimits, 'timeoutMs' | 'maxBytes'>,
  config: Pick<Config, 'cimdAllowLoopback'>,
): Promise<OutboundAnswer> {
  let answer: OutboundAnswer;
  try {
    answer = await getOutbound(url, {
      timeoutMs: limits.timeoutMs,
      maxBytes: limits.maxBytes,
      externalOnly: true,
      allowLoopback: config.cimdAllowLoopback,
      // A development server on 127.0.0.1 has a self-signed certificate (the MCP SDK wants https).
      loopbackAnyCertificate: config.cimdAllowLoopback,
      accept: 'application/json',
    });
  } catch (error) {
    // An internal address or an oversized answer is what the URL now gives, not an outage.
    const transient = !(error instanceof InternalAddressError || error instanceof TooLargeError);
    throw new MetadataDocumentError(fetchProblem(error, limits), { cause: error, transient });
  }
  if (answer.status >= 300 && answer.status < 400) {
    throw new MetadataDocumentError(
      `the client metadata document's URL answered a redirect (HTTP ${answer.status}): redirects are not followed`,
    );
  }
  if (answer.status !== 200) {
    throw new MetadataDocumentError(
      `the client metadata document's URL answered HTTP ${answer.status}`,
      { transient: answer.status >= 500 },
    );
  }
  return answer;
}

function fetchProblem(
  error: unknown,
  limits: Pick<DocumentLimits, 'timeoutMs' | 'maxBytes'>,
): string {
  if (error instanceof InternalAddressError)
    return 'the client metadata document is on a loopback, private or link-local address, which Tessera does not fetch from';
  if (error instanceof TooLargeError)
    return `the client metadata document is larger than ${limits.maxBytes / 1024} KiB`;
  const timedOut =
    error instanceof Error &&
    (error.name === 'TimeoutError' ||
      error.name === 'AbortError' ||
      (error.cause as Error | undefined)?.name === 'TimeoutError');
  if (timedOut)
    return `the client metadata document did not arrive within ${limits.timeoutMs / 1000} s`;
  // The network's own words (a refused connection, a certificate) stay in the log: echoed, they
  // would tell a stranger what answers where.
  return 'the client metadata document could not be fetched';
}

/** The client settings of a fetched answer: JSON, and acceptable by the draft and Tessera's rules. */
export function readDocument(
  url: string,
  answer: OutboundAnswer,
  config: Pick<Config, 'nodeEnv' | 'cimdAllowLoopback'>,
): ClientMetadata {
  let value: unknown;
  try {
    value = JSON.parse(answer.body.toString('utf8'));
  } catch {
    throw new MetadataDocumentError('the client metadata document is not valid JSON');
  }
  try {
    return clientFromDocument(url, value, {
      production: config.nodeEnv === 'production',
      allowLoopback: config.cimdAllowLoopback,
    });
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    throw new MetadataDocumentError(
      `the client metadata document is not acceptable: ${error.message}`,
    );
  }
}
