/** Base class of every error the Vault emulator raises. */
export class VaultEmulatorError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'VaultEmulatorError';
  }
}

/** Thrown by a handler to answer with Vault's `{"errors": [...]}` body and an HTTP status. */
export class VaultHttpError extends VaultEmulatorError {
  constructor(
    readonly status: number,
    readonly errors: string[],
  ) {
    super(errors.join('; ') || `HTTP ${status}`);
    this.name = 'VaultHttpError';
  }
}

/** Thrown by the programmatic API when it is called with a namespace, mount or body that does not exist. */
export class VaultEmulatorUsageError extends VaultEmulatorError {
  constructor(message: string) {
    super(message);
    this.name = 'VaultEmulatorUsageError';
  }
}

export const badRequest = (message: string): VaultHttpError => new VaultHttpError(400, [message]);

export const permissionDenied = (): VaultHttpError => new VaultHttpError(403, ['permission denied']);

/** Vault 1.17+ answers an unknown, revoked or expired token with both messages (docs: concepts/tokens, Error Responses). */
export const invalidToken = (): VaultHttpError =>
  new VaultHttpError(403, ['permission denied', 'invalid token']);

/** Vault answers a missing secret with 404 and an empty error list. */
export const notFound = (): VaultHttpError => new VaultHttpError(404, []);

export const unsupportedOperation = (): VaultHttpError => new VaultHttpError(405, ['unsupported operation']);

export const sealed = (): VaultHttpError => new VaultHttpError(503, ['Vault is sealed']);

export const noHandler = (path: string): VaultHttpError =>
  new VaultHttpError(404, [`no handler for route "${path}". route entry not found.`]);
