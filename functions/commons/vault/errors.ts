import { PermanentError, TransientError } from '../errors.js';

/** What is kept of a failed Vault request: never the token, the body or the response data. */
export interface VaultRequestSummary {
  method: string;
  path: string;
  /** HTTP status; 0 when no response arrived. */
  status: number;
  /** Vault's `errors` array, with anything that looks like a secret or token masked. */
  errors: string[];
}

function describe(summary: VaultRequestSummary): string {
  const detail = summary.errors.length > 0 ? `: ${summary.errors.join('; ')}` : '';
  const status = summary.status === 0 ? 'no response' : `HTTP ${summary.status}`;
  return `Vault ${summary.method} ${summary.path} failed (${status})${detail}`;
}

/** Thrown when Vault is sealed, down, rate-limiting, failing with 5xx or not answering. */
export class VaultUnavailableError extends TransientError {
  readonly status: number;
  constructor(readonly request: VaultRequestSummary) {
    super(describe(request));
    this.status = request.status;
  }
}

/** Thrown when Vault rejects a request (4xx other than those below). */
export class VaultRequestError extends PermanentError {
  readonly status: number;
  constructor(readonly request: VaultRequestSummary) {
    super(describe(request));
    this.status = request.status;
  }
}

/** Thrown on 403: the token's policy does not allow the call, or the token is no longer valid. */
export class VaultPermissionDeniedError extends VaultRequestError {}

/** Thrown when a check-and-set write finds another version than the one read: a concurrent writer. */
export class VaultCasConflictError extends VaultRequestError {}

/** Thrown when the rotator cannot authenticate to Vault; each auth method has its own subclass. */
export abstract class VaultAuthError extends PermanentError {}

/** Thrown when Vault's AWS IAM auth refuses the login (role, bound ARN, server id header). */
export class VaultAwsLoginError extends VaultAuthError {}

/**
 * Thrown when Vault's AWS IAM login fails because STS, behind Vault, refused or failed the signed
 * GetCallerIdentity (throttling, 5xx, or credentials of a new role not yet propagated): retried.
 */
export class VaultLoginUpstreamError extends TransientError {}

/** Thrown when Vault's AppRole auth refuses the login, or no secret_id can be read. */
export class VaultAppRoleLoginError extends VaultAuthError {}

/** Thrown when token auth finds no token in its store. */
export class VaultTokenSourceError extends VaultAuthError {}

/** Thrown when the secret at the path is not the shape the rotator writes. */
export class VaultDataError extends PermanentError {}
