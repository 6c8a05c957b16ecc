import { parseEvent } from './commons/event.js';
import { setAccessKeyStatus } from './commons/iam.js';
import { logger } from './commons/logger.js';
import { NewKeyEvent } from './commons/state.js';
import { readStoredKey } from './commons/vault/stored-key.js';

/** DeactivateOld: sets the keys that existed before this execution to Inactive, never Vault's key. */
export const handler = async (event: unknown): Promise<{ deactivated: string[]; skipped: string[] }> => {
  const { request, created } = parseEvent(NewKeyEvent, event);
  const vaultKeyId = (await readStoredKey(request.vaultPath)).key?.accessKeyId;
  const deactivated: string[] = [];
  const skipped: string[] = [];
  for (const id of created.oldAccessKeyIds) {
    if (id === vaultKeyId) {
      skipped.push(id);
      continue;
    }
    // Already Inactive is fine; a key that is already gone counts as retired.
    if (await setAccessKeyStatus(request.userName, id, 'Inactive')) deactivated.push(id);
    else skipped.push(id);
  }
  logger.info('deactivated old keys', { userName: request.userName, deactivated, skipped });
  return { deactivated, skipped };
};
