/**
 * One error taxonomy for every AWS call: what to retry, what means "gone", what ends the run. The SDK already
 * retries each call; these decide what our own loops (parts, jobs, pacing) do after it gives up.
 */

interface AwsLikeError {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  $retryable?: unknown;
}

const THROTTLING = new Set([
  'ThrottlingException',
  'Throttling',
  'SlowDown',
  'RequestThrottled',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'ProvisionedThroughputExceededException',
  'PolicyEnforcedException', // Glacier's data retrieval policy: wait, the hourly budget frees up
]);

const CREDENTIALS = new Set([
  'CredentialsProviderError',
  'ExpiredToken',
  'ExpiredTokenException',
  'InvalidClientTokenId',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'UnrecognizedClientException',
  'MissingAuthenticationTokenException',
]);

const NETWORK = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED', 'ERR_STREAM_PREMATURE_CLOSE', 'TimeoutError', 'RequestTimeout', 'RequestTimeoutException']);

function nameOf(e: unknown): string {
  const err = e as AwsLikeError;
  return err?.name ?? err?.code ?? '';
}

/** The HTTP status of an AWS error, when it got that far. */
export function httpStatusOf(e: unknown): number | undefined {
  return (e as AwsLikeError)?.$metadata?.httpStatusCode;
}

export function isThrottling(e: unknown): boolean {
  return THROTTLING.has(nameOf(e)) || httpStatusOf(e) === 429;
}

/** The state file cannot be written (disk full, I/O error, read-only): nothing can go on safely. */
export function isStateStorageError(e: unknown): boolean {
  const code = (e as { code?: unknown })?.code;
  return typeof code === 'string' && /^SQLITE_(FULL|IOERR|READONLY|CORRUPT|CANTOPEN)/.test(code);
}

export function isCredentialsError(e: unknown): boolean {
  return CREDENTIALS.has(nameOf(e));
}

export function isNotFound(e: unknown): boolean {
  return ['ResourceNotFoundException', 'NoSuchKey', 'NotFound', 'NoSuchUpload', 'NoSuchBucket'].includes(nameOf(e)) || httpStatusOf(e) === 404;
}

/** A conditional write (If-None-Match) that raced another write of the same key: S3 says to send it again. */
export function isConditionalConflict(e: unknown): boolean {
  return nameOf(e) === 'ConditionalRequestConflict';
}

/** Transient: worth another try after a pause (throttling, 5xx, dropped connections, bad bytes in transit). */
export function isRetryable(e: unknown): boolean {
  if (e instanceof ChunkVerificationError) return true;
  if (isThrottling(e) || isConditionalConflict(e)) return true;
  const name = nameOf(e);
  if (NETWORK.has(name) || NETWORK.has((e as AwsLikeError)?.code ?? '')) return true;
  if (['BadDigest', 'InternalError', 'ServiceUnavailable', 'ServiceUnavailableException', 'XAmzContentSHA256Mismatch', 'IncompleteBody'].includes(name)) return true;
  const status = httpStatusOf(e);
  if (status !== undefined && status >= 500) return true;
  // Errors without an HTTP status are raised below the SDK: sockets, streams, aborted bodies.
  return status === undefined && !(e instanceof ConfigError) && !isCredentialsError(e) && /socket|stream|aborted|premature|ECONN|EPIPE|network|terminated/i.test((e as Error)?.message ?? '');
}

/** A problem with what the user asked for (unknown vault, bad bucket, bad option): one line, exit 2 or 1. */
export class ConfigError extends Error {}

/** Bytes from Glacier that do not hash to what Glacier says they are: fetched again. */
export class ChunkVerificationError extends Error {
  constructor(
    readonly vault: string,
    readonly archiveId: string,
    readonly range: { start: number; end: number },
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`tree hash of bytes ${range.start}-${range.end} of archive ${archiveId} in vault ${vault} is ${actual}, Glacier says ${expected}`);
  }
}

/** An archive that cannot be copied as it is: it fails, with this reason, and no object is written. */
export class ArchiveFailure extends Error {}

/** A one-line description of an AWS error for logs and summaries. */
export function describeError(e: unknown): string {
  const name = nameOf(e);
  const message = ((e as Error)?.message ?? String(e)).split('\n')[0]!;
  return name && !message.startsWith(name) && name !== 'Error' ? `${name}: ${message}` : message;
}
