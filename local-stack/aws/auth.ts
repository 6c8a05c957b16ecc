import type { Service } from '../traffic.js';
import { AwsServiceError } from './errors.js';
import { checkContentSha256 } from './s3/payload.js';
import { isJsonService, SIGNING_NAMES } from './protocol.js';
import {
  MalformedAuthorizationError,
  parseAmzDate,
  parseAuthorization,
  signatureMatches,
  type ParsedAuthorization,
  type ReceivedRequest,
  type SigningCredentials,
} from './sigv4.js';
import type { AwsAccounts } from './accounts.js';
import type { AwsState, Session, User } from './state.js';

/**
 * Who signed a request. Sessions of emulated roles are then authorized against their policies
 * (authorize.ts); every other principal (local-admin included) may call every action.
 */
export type Principal =
  { kind: 'user'; user: User; accessKeyId: string } | { kind: 'role'; session: Session };

/** The principal and its account (a user's, or the assumed role's), where the call acts. */
export interface Authenticated {
  principal: Principal;
  state: AwsState;
}

export type AwsService = Exclude<Service, 'vault'>;

const MAX_SKEW_MS = 15 * 60 * 1000;

type Failure =
  'missing' | 'incomplete' | 'invalidToken' | 'badSessionToken' | 'badSignature' | 'skewed' | 'expiredToken';

// Query services (IAM, STS) and JSON services (KMS, Secrets Manager, SSM) name and number the same failures differently.
const QUERY_FAILURES: Record<Failure, [string, number]> = {
  missing: ['MissingAuthenticationToken', 403],
  incomplete: ['IncompleteSignature', 400],
  invalidToken: ['InvalidClientTokenId', 403],
  badSessionToken: ['InvalidClientTokenId', 403],
  badSignature: ['SignatureDoesNotMatch', 403],
  skewed: ['SignatureDoesNotMatch', 403],
  expiredToken: ['ExpiredToken', 403],
};
const JSON_FAILURES: Record<Failure, [string, number]> = {
  missing: ['MissingAuthenticationTokenException', 400],
  incomplete: ['IncompleteSignatureException', 400],
  invalidToken: ['UnrecognizedClientException', 400],
  badSessionToken: ['UnrecognizedClientException', 400],
  badSignature: ['InvalidSignatureException', 400],
  skewed: ['InvalidSignatureException', 400],
  expiredToken: ['ExpiredTokenException', 400],
};
// S3 has its own codes (and an unsigned request is simply not allowed).
const S3_FAILURES: Record<Failure, [string, number]> = {
  missing: ['AccessDenied', 403],
  incomplete: ['AuthorizationHeaderMalformed', 400],
  invalidToken: ['InvalidAccessKeyId', 403],
  badSessionToken: ['InvalidToken', 400],
  badSignature: ['SignatureDoesNotMatch', 403],
  skewed: ['RequestTimeTooSkewed', 403],
  expiredToken: ['ExpiredToken', 400],
};

const MESSAGES: Partial<Record<Failure, string>> = {
  invalidToken: 'The security token included in the request is invalid.',
  badSignature:
    'The request signature we calculated does not match the signature you provided. ' +
    'Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
  expiredToken: 'The security token included in the request is expired',
};

const S3_MESSAGES: Partial<Record<Failure, string>> = {
  missing: 'Access Denied',
  invalidToken: 'The AWS Access Key Id you provided does not exist in our records.',
  badSessionToken: 'The provided token is malformed or otherwise invalid.',
  badSignature:
    'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
  skewed: 'The difference between the request time and the current time is too large.',
  expiredToken: 'The provided token has expired.',
};

function fail(service: AwsService, failure: Failure, message?: string): AwsServiceError {
  if (service === 's3') {
    const [code, status] = S3_FAILURES[failure];
    return new AwsServiceError(code, S3_MESSAGES[failure] ?? message ?? code, status);
  }
  const [code, status] = (isJsonService(service) ? JSON_FAILURES : QUERY_FAILURES)[failure];
  return new AwsServiceError(code, message ?? MESSAGES[failure] ?? code, status);
}

/** Verifies the SigV4 signature and returns the principal; records the key's last use. */
export async function authenticate(
  request: ReceivedRequest,
  service: AwsService,
  accounts: AwsAccounts,
  now = new Date(),
): Promise<Authenticated> {
  const header = request.headers.authorization;
  if (header === undefined) {
    const message = isJsonService(service)
      ? 'Missing Authentication Token'
      : 'Request is missing Authentication Token';
    throw fail(service, 'missing', message);
  }
  let auth: ParsedAuthorization;
  try {
    auth = parseAuthorization(header);
  } catch (error) {
    if (error instanceof MalformedAuthorizationError) throw fail(service, 'incomplete', error.message);
    throw error;
  }
  const signingName = SIGNING_NAMES[service] ?? service;
  if (auth.service !== signingName) {
    throw fail(service, 'badSignature', `Credential should be scoped to correct service: '${signingName}'. `);
  }
  const amzDate = request.headers['x-amz-date'];
  const signingDate = typeof amzDate === 'string' ? parseAmzDate(amzDate) : undefined;
  if (signingDate === undefined) {
    throw fail(
      service,
      'incomplete',
      `Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=${header}`,
    );
  }
  const { caller, credentials } = lookUp(auth.accessKeyId, request, service, accounts, now);
  checkSkew(signingDate, now, service);
  if (service === 's3') checkContentSha256(request);
  if (!(await signatureMatches(request, auth, signingDate, credentials))) throw fail(service, 'badSignature');
  const { principal, state } = caller;
  if (principal.kind === 'user') {
    const key = state.accessKeys.get(principal.accessKeyId);
    if (key) key.lastUsed = { date: now, service, region: auth.region };
  }
  return caller;
}

function lookUp(
  accessKeyId: string,
  request: ReceivedRequest,
  service: AwsService,
  accounts: AwsAccounts,
  now: Date,
): { caller: Authenticated; credentials: SigningCredentials } {
  const token = request.headers['x-amz-security-token'];
  const session = accounts.sessions.get(accessKeyId);
  const sessionState = session && accounts.get(session.accountId);
  if (session && sessionState) {
    if (token !== session.sessionToken) throw fail(service, 'badSessionToken');
    if (session.expiration <= now) throw fail(service, 'expiredToken');
    const { secretAccessKey, sessionToken } = session;
    return {
      caller: { principal: { kind: 'role', session }, state: sessionState },
      credentials: { accessKeyId, secretAccessKey, sessionToken },
    };
  }
  const found = accounts.findAccessKey(accessKeyId);
  // Real IAM answers the same for unknown, deleted, inactive and not-yet-propagated keys.
  if (
    !found ||
    found.key.status !== 'Active' ||
    found.state.isPropagating(found.key, now.getTime()) ||
    token !== undefined
  ) {
    throw fail(service, 'invalidToken');
  }
  const { key, state } = found;
  return {
    caller: { principal: { kind: 'user', user: state.getUser(key.userName), accessKeyId }, state },
    credentials: { accessKeyId, secretAccessKey: key.secretAccessKey },
  };
}

function checkSkew(signingDate: Date, now: Date, service: AwsService): void {
  const stamp = (date: Date) => date.toISOString().replace(/[-:]|\.\d{3}/g, '');
  const skew = signingDate.getTime() - now.getTime();
  if (skew < -MAX_SKEW_MS) {
    const limit = new Date(now.getTime() - MAX_SKEW_MS);
    throw fail(
      service,
      'skewed',
      `Signature expired: ${stamp(signingDate)} is now earlier than ${stamp(limit)} (${stamp(now)} - 15 min.)`,
    );
  }
  if (skew > MAX_SKEW_MS) {
    const limit = new Date(now.getTime() + MAX_SKEW_MS);
    throw fail(
      service,
      'skewed',
      `Signature not yet current: ${stamp(signingDate)} is still later than ${stamp(limit)} (${stamp(now)} + 15 min.)`,
    );
  }
}
