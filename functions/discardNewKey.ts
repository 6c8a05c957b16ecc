import { RollbackUnsafeError } from './commons/errors.js';
import { parseEvent } from './commons/event.js';
import { deleteAccessKey, iamUser } from './commons/iam.js';
import { logger } from './commons/logger.js';
import { NewKeyEvent } from './commons/state.js';
import { readStoredKey } from './commons/vault/stored-key.js';

/** DiscardNewKey (rollback): deletes the new key, refusing while Vault still serves it. */
export const handler = async (event: unknown): Promise<{ accessKeyId: string; deleted: boolean }> => {
  const { request, created } = parseEvent(NewKeyEvent, event);
  const current = await readStoredKey(request.vaultPath);
  if (current.key?.accessKeyId === created.accessKeyId) {
    throw new RollbackUnsafeError(
      `Vault at ${request.vaultPath} still serves ${created.accessKeyId}; it was not deleted`,
    );
  }
  const deleted = await deleteAccessKey(iamUser(request, 'discardNewKey'), created.accessKeyId);
  logger.info('discarded the new key', { accessKeyId: created.accessKeyId, deleted });
  return { accessKeyId: created.accessKeyId, deleted };
};
