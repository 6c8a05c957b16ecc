import { parseEvent } from './commons/event.js';
import { logger } from './commons/logger.js';
import { NewKeyEvent } from './commons/state.js';
import { VaultDataError } from './commons/vault/errors.js';
import { deleteCurrentVersion, readStoredKey, writeStoredKey } from './commons/vault/stored-key.js';

export interface Restored {
  /** `none`: Vault did not serve the new key; `rewrote`: the previous version's data is current again. */
  action: 'none' | 'rewrote-previous' | 'deleted-new-version';
  version: number;
}

/** RestoreVault (rollback): if Vault serves the new key, puts back what it served before the rotation. */
export const handler = async (event: unknown): Promise<Restored> => {
  const { request, created } = parseEvent(NewKeyEvent, event);
  const path = request.vaultPath;
  const current = await readStoredKey(path);
  if (current.key?.accessKeyId !== created.accessKeyId) {
    logger.info('Vault does not serve the new key; nothing to restore', { path, version: current.version });
    return { action: 'none', version: current.version };
  }
  const before = created.vaultBefore;
  if (before.accessKeyId === null) {
    await deleteCurrentVersion(path);
    logger.info('deleted the new version; the path is empty again', { path, version: current.version });
    return { action: 'deleted-new-version', version: current.version };
  }
  const previous = await readStoredKey(path, before.version);
  if (previous.key?.accessKeyId !== before.accessKeyId) {
    throw new VaultDataError(`version ${before.version} of ${path} no longer holds ${before.accessKeyId}`);
  }
  const version = await writeStoredKey(path, previous.key, current.version);
  logger.info('restored the previous key in Vault', { path, version, accessKeyId: before.accessKeyId });
  return { action: 'rewrote-previous', version };
};
