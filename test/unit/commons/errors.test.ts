import { describe, expect, it } from 'vitest';
import * as errors from '../../../functions/commons/errors.js';
import * as vaultErrors from '../../../functions/commons/vault/errors.js';

const { PermanentError, RotatorError, TransientError } = errors;

const PERMANENT = [
  errors.InvalidInputError,
  errors.ConfigurationError,
  errors.TooManyAccessKeysError,
  errors.UserNotFoundError,
  errors.ConcurrentRotationError,
  errors.AwsRequestError,
  errors.SealedSecretError,
  errors.KeyVerificationError,
  errors.OldKeyReactivatedError,
  errors.RollbackUnsafeError,
  vaultErrors.VaultAwsLoginError,
  vaultErrors.VaultAppRoleLoginError,
  vaultErrors.VaultTokenSourceError,
  vaultErrors.VaultDataError,
];
const TRANSIENT = [errors.AwsUnavailableError, errors.KeyNotYetValidError];

describe('RotatorError subclasses', () => {
  it.each(PERMANENT.map((ErrorClass) => [ErrorClass.name, ErrorClass] as const))(
    '%s is a permanent RotatorError named after its class',
    (name, ErrorClass) => {
      const error = new ErrorClass('something failed');
      expect(error).toBeInstanceOf(RotatorError);
      expect(error).toBeInstanceOf(PermanentError);
      expect(error).toBeInstanceOf(Error);
      expect(error.name).toBe(name);
      expect(error.transient).toBe(false);
      expect(error.message).toBe('something failed');
    },
  );

  it.each(TRANSIENT.map((ErrorClass) => [ErrorClass.name, ErrorClass] as const))(
    '%s is a transient RotatorError named after its class',
    (name, ErrorClass) => {
      const error = new ErrorClass('try again');
      expect(error).toBeInstanceOf(TransientError);
      expect(error.name).toBe(name);
      expect(error.transient).toBe(true);
    },
  );

  it('keeps the cause it is given', () => {
    const cause = new Error('root cause');
    expect(new errors.AwsRequestError('wrapped', { cause }).cause).toBe(cause);
  });

  it('serialises name and message the way Lambda reports errorType and errorMessage', () => {
    const error = new errors.TooManyAccessKeysError('user has two keys');
    expect({ errorType: error.name, errorMessage: error.message }).toEqual({
      errorType: 'TooManyAccessKeysError',
      errorMessage: 'user has two keys',
    });
  });
});

describe('Vault request errors', () => {
  const summary = { method: 'POST', path: 'secret/data/a', status: 400, errors: ['bad thing', 'other'] };

  it('describes method, path, status and Vault errors in the message', () => {
    const error = new vaultErrors.VaultRequestError(summary);
    expect(error.message).toBe('Vault POST secret/data/a failed (HTTP 400): bad thing; other');
    expect(error.status).toBe(400);
    expect(error.request).toEqual(summary);
    expect(error.transient).toBe(false);
  });

  it('says "no response" for status 0 and is transient when unavailable', () => {
    const error = new vaultErrors.VaultUnavailableError({ ...summary, status: 0, errors: [] });
    expect(error.message).toBe('Vault POST secret/data/a failed (no response)');
    expect(error.name).toBe('VaultUnavailableError');
    expect(error.transient).toBe(true);
  });

  it.each([
    vaultErrors.VaultAwsLoginError,
    vaultErrors.VaultAppRoleLoginError,
    vaultErrors.VaultTokenSourceError,
  ])('%o is a VaultAuthError reported under its own name', (ErrorClass) => {
    const error = new ErrorClass('login refused');
    expect(error).toBeInstanceOf(vaultErrors.VaultAuthError);
    expect(error.name).toBe(ErrorClass.name);
    expect(error.name).not.toBe('VaultAuthError');
  });

  it('names permission and check-and-set failures as VaultRequestError subclasses', () => {
    const denied = new vaultErrors.VaultPermissionDeniedError({ ...summary, status: 403 });
    const conflict = new vaultErrors.VaultCasConflictError(summary);
    expect(denied).toBeInstanceOf(vaultErrors.VaultRequestError);
    expect(conflict).toBeInstanceOf(vaultErrors.VaultRequestError);
    expect(denied.name).toBe('VaultPermissionDeniedError');
    expect(conflict.name).toBe('VaultCasConflictError');
  });
});
