/**
 * Errors a rotation step can end with. Each sets `name` to its class name: Lambda reports it as
 * `errorType`, and the state machine matches it in `ErrorEquals`. Messages carry ids, paths and
 * statuses only, never key material or tokens.
 */
export abstract class RotatorError extends Error {
  /** True when the same call can succeed if tried again later; the state machine retries these. */
  abstract readonly transient: boolean;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Thrown for a failure that retrying cannot fix. */
export abstract class PermanentError extends RotatorError {
  readonly transient = false;
}

/** Thrown for a failure that may pass on retry (throttling, 5xx, network, propagation). */
export abstract class TransientError extends RotatorError {
  readonly transient = true;
}

/** Thrown when execution input is malformed, before any side effect. */
export class InvalidInputError extends PermanentError {}

/** Thrown when the deployment's environment is missing or malformed. */
export class ConfigurationError extends PermanentError {}

/** Thrown by createKey when the user already has two keys and none may be removed. */
export class TooManyAccessKeysError extends PermanentError {}

/** Thrown when the IAM user does not exist. */
export class UserNotFoundError extends PermanentError {}

/** Thrown when another execution is rotating the same user's key. */
export class ConcurrentRotationError extends PermanentError {}

/** Thrown when IAM refuses a call for a reason retrying will not fix. */
export class AwsRequestError extends PermanentError {}

/** Thrown when IAM, STS or KMS throttle, fail with 5xx or cannot be reached. */
export class AwsUnavailableError extends TransientError {}

/** Thrown when a sealed secret cannot be opened (wrong context, key or ciphertext). */
export class SealedSecretError extends PermanentError {}

/** Thrown by verifyKey while STS does not yet accept the new key (IAM propagation). */
export class KeyNotYetValidError extends TransientError {}

/** Thrown by verifyKey when the key works but is not the user's, or Vault returns another key. */
export class KeyVerificationError extends PermanentError {}

/** Thrown by deactivateOld when an old key is still used after the new key was stored (policy fail, or wait exhausted). */
export class OldKeyStillInUseError extends PermanentError {}

/** Thrown by deleteOld when an old key was re-activated during the recovery wait. */
export class OldKeyReactivatedError extends PermanentError {}

/** Thrown by a rollback step that would remove the key Vault currently serves. */
export class RollbackUnsafeError extends PermanentError {}

/**
 * Thrown when more keys appeared after this execution's claim than its attempts can have left (an
 * attempt claims, then creates one): one was made by someone else, and which cannot be told.
 */
export class LeftoverUnprovenError extends PermanentError {}

/**
 * Thrown by summarizeFleet when the Map Run's results are not where the fleet machine wrote them,
 * or not what Step Functions writes: the children ran, the fleet cannot count them.
 */
export class FleetResultsError extends PermanentError {}

/**
 * Fleet: the execution holding a child's name is not this fleet's rotation of that user (someone
 * started one under the predictable name first): the user was not rotated by this run.
 */
export class ExecutionNameTakenError extends PermanentError {}

/**
 * Thrown when the target role in another account cannot be assumed: it is missing, does not trust
 * this step's role, or expects another ExternalId. The step changed nothing.
 */
export class TargetAccountAccessError extends PermanentError {}
