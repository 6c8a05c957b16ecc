import { PermanentError } from '../functions/commons/errors.js';

/** Thrown when the Vault path holds no key: never written, or its current version deleted. */
export class NoKeyAtPathError extends PermanentError {}

/** Thrown when the aws auth method's credential chain runs this command again (a loop through a profile). */
export class CredentialLoopError extends PermanentError {}
