// The package's `iam-key-rotator/credentials` export: what a consumer's code imports.
export { fromVault, type VaultCredentialProvider } from './provider.js';
export { AUTH_ERRORS, refreshOnAuthError, type SdkClient } from './refresh-on-auth-error.js';
export type { CredentialOptions } from './options.js';
export { CredentialLoopError, NoKeyAtPathError } from './errors.js';
