import type { AwsCredentialIdentity } from '@smithy/types';
import { config } from './config.js';
import { AwsRequestError, AwsUnavailableError, RotatorError } from './errors.js';

/**
 * Settings of every SDK client the rotator makes. Endpoints come from the SDK's own settings
 * (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_IAM, ...). The clients live in clients/, one module per
 * service, so that a function's bundle holds only the clients it calls.
 */
export function clientConfig(credentials?: AwsCredentialIdentity) {
  const { region, awsTimeoutMs } = config();
  return {
    region,
    // Without throwOnRequestTimeout the SDK only logs a warning and waits on.
    requestHandler: {
      connectionTimeout: Math.min(awsTimeoutMs, 3_000),
      requestTimeout: awsTimeoutMs,
      throwOnRequestTimeout: true,
    },
    ...(credentials ? { credentials, maxAttempts: 1 } : {}),
  };
}

const TRANSIENT_CODES = new Set([
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'ServiceFailure',
  'InternalFailure',
  'InternalError',
  'KMSInternalException',
  'DependencyTimeoutException',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  // IAM: "the request was rejected because multiple requests to change this object were submitted simultaneously".
  'ConcurrentModification',
]);

interface SdkError {
  name?: string;
  /** The wire error code; the SDK names modelled query-protocol errors `<Code>Exception` instead. */
  Code?: string;
  message?: string;
  code?: string;
  $metadata?: { httpStatusCode?: number };
  $retryable?: unknown;
}

/** The AWS error code of an SDK error (as on the wire), or the Node error code of a network error. */
export function errorCode(error: unknown): string {
  const e = (error ?? {}) as SdkError;
  if (typeof e.Code === 'string') return e.Code;
  // The SDK's Node handler renames ECONNRESET, EPIPE and ETIMEDOUT to TimeoutError: keep what happened.
  if (e.name === 'TimeoutError' && typeof e.code === 'string' && /^E[A-Z]+$/.test(e.code)) return e.code;
  return e.name && e.name !== 'Error' ? e.name : (e.code ?? 'UnknownError');
}

/** Wraps an SDK error as a named transient or permanent error, keeping ids in the message only. */
export function awsFailure(action: string, error: unknown): RotatorError {
  if (error instanceof RotatorError) return error;
  const e = (error ?? {}) as SdkError;
  const code = errorCode(error);
  const status = e.$metadata?.httpStatusCode;
  const message = `${action} failed: ${code}${status ? ` (HTTP ${status})` : ''}`;
  const networkFailure = status === undefined && (typeof e.code === 'string' || code === 'AbortError');
  const transient =
    TRANSIENT_CODES.has(code) || e.$retryable !== undefined || (status ?? 0) >= 500 || networkFailure;
  return transient ? new AwsUnavailableError(message) : new AwsRequestError(message);
}
