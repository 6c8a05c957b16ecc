// The package's `iam-key-rotator/credentials` export: what a consumer's code imports.
export { fromVault } from './provider.js';
export { AUTH_ERRORS, refreshOnAuthError } from './refresh-on-auth-error.js';
export type * from './types.js';
export { CredentialLoopError, NoKeyAtPathError } from './errors.js';
