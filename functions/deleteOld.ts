import { OldKeyReactivatedError } from './commons/errors.js';
import { parseEvent } from './commons/event.js';
import { deleteAccessKey, iamUser, listAccessKeys } from './commons/iam.js';
import { logger } from './commons/logger.js';
import { NewKeyEvent } from './commons/state.js';
import { readStoredKey } from './commons/vault/stored-key.js';

/** DeleteOld: deletes the old keys this execution deactivated, only while they are still Inactive. */
export const handler = async (event: unknown): Promise<{ deleted: string[]; alreadyGone: string[] }> => {
  const { request, created } = parseEvent(NewKeyEvent, event);
  const user = iamUser(request, 'deleteOld');
  const vaultKeyId = (await readStoredKey(request.vaultPath)).key?.accessKeyId;
  const keys = new Map((await listAccessKeys(user)).map((k) => [k.accessKeyId, k]));
  const old = created.oldAccessKeyIds.filter((id) => id !== vaultKeyId);
  // An operator re-activates an old key during the recovery wait when something still needs it.
  const reactivated = old.filter((id) => keys.get(id)?.status === 'Active');
  if (reactivated.length > 0) {
    throw new OldKeyReactivatedError(
      `old key(s) ${reactivated.join(', ')} of '${request.userName}' are Active again; not deleted`,
    );
  }
  const deleted: string[] = [];
  const alreadyGone: string[] = [];
  for (const id of old) {
    if (keys.has(id) && (await deleteAccessKey(user, id))) deleted.push(id);
    else alreadyGone.push(id);
  }
  logger.info('deleted old keys', { userName: request.userName, deleted, alreadyGone });
  return { deleted, alreadyGone };
};
