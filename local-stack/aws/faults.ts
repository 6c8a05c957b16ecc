import { AwsServiceError } from './errors.js';
import { S3Error } from './s3/errors.js';
import type { AwsService } from './auth.js';
import { isJsonService, type JsonService } from './protocol.js';

// The HTTP status AWS pairs with each error code a fault may inject; unknown codes get 400.
const QUERY_STATUS: Record<string, number> = {
  AccessDenied: 403,
  ConcurrentModification: 409,
  EntityAlreadyExists: 409,
  ExpiredToken: 403,
  IncompleteSignature: 400,
  InternalError: 500,
  InternalFailure: 500,
  InvalidClientTokenId: 403,
  LimitExceeded: 409,
  MissingAuthenticationToken: 403,
  NoSuchEntity: 404,
  OptInRequired: 403,
  RegionDisabledException: 403,
  RequestExpired: 400,
  ServiceFailure: 500,
  ServiceUnavailable: 503,
  SignatureDoesNotMatch: 403,
  Throttling: 400,
};

// The awsJson1_1 services (KMS, Secrets Manager, SSM) answer every client error with 400,
// including AccessDeniedException; only their server-side errors differ.
const JSON_STATUS: Record<string, number> = {
  DependencyTimeoutException: 503,
  InternalFailure: 500,
  InternalServerError: 500,
  InternalServiceError: 500,
  KMSInternalException: 500,
  ServiceUnavailable: 503,
  ServiceUnavailableException: 503,
};

const S3_CODES: Record<number, string> = {
  403: 'AccessDenied',
  404: 'NoSuchKey',
  429: 'SlowDown',
  500: 'InternalError',
  503: 'SlowDown',
};

/** Each JSON service's own name for a server-side failure. */
const JSON_INTERNAL: Record<JsonService, string> = {
  kms: 'KMSInternalException',
  secretsmanager: 'InternalServiceError',
  ssm: 'InternalServerError',
  // Step Functions' model names no server error: the common InternalFailure.
  sfn: 'InternalFailure',
};

// S3's own codes for the statuses a fault may ask for (SlowDown is its throttling).
const S3_STATUS: Record<string, number> = {
  AccessDenied: 403,
  InternalError: 500,
  NoSuchBucket: 404,
  NoSuchKey: 404,
  NotImplemented: 501,
  ServiceUnavailable: 503,
  SlowDown: 503,
};

const MESSAGES: Record<string, string> = {
  SlowDown: 'Please reduce your request rate.',
  InternalError: 'We encountered an internal error. Please try again.',
  Throttling: 'Rate exceeded',
  ThrottlingException: 'Rate exceeded',
  ServiceUnavailable: 'Service is unavailable. Please try again later.',
  InternalFailure: 'An internal error occurred.',
  KMSInternalException: 'An internal error occurred.',
  InternalServiceError: 'An internal error occurred.',
  InternalServerError: 'An internal error occurred.',
};

/** The error a `code` fault answers with. */
export function injectedCodeError(service: AwsService, code: string): AwsServiceError {
  if (service === 's3') {
    return new S3Error(
      code,
      MESSAGES[code] ?? `${code} (injected by the local stack)`,
      S3_STATUS[code] ?? 400,
    );
  }
  const status = (isJsonService(service) ? JSON_STATUS : QUERY_STATUS)[code] ?? 400;
  return new AwsServiceError(code, MESSAGES[code] ?? `${code} (injected by the local stack)`, status);
}

/** The error a `status` fault answers with: the code the service normally sends with that status. */
export function injectedStatusError(service: AwsService, status: number): AwsServiceError {
  return new AwsServiceError(
    codeForStatus(service, status),
    `HTTP ${status} (injected by the local stack)`,
    status,
  );
}

function codeForStatus(service: AwsService, status: number): string {
  if (service === 's3') return S3_CODES[status] ?? (status >= 500 ? 'InternalError' : 'InvalidRequest');
  const json = isJsonService(service);
  if (status === 503) return json ? 'ServiceUnavailableException' : 'ServiceUnavailable';
  if (status >= 500) return json ? JSON_INTERNAL[service] : 'InternalFailure';
  if (status === 429) return json ? 'ThrottlingException' : 'Throttling';
  if (status === 403) return json ? 'AccessDeniedException' : 'AccessDenied';
  return json ? 'ValidationException' : 'ValidationError';
}
