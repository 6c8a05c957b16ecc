import { config } from './commons/config.js';
import { OldKeyStillInUseError } from './commons/errors.js';
import { parseEvent } from './commons/event.js';
import { getLastUsed, iamUser, listAccessKeys, setAccessKeyStatus } from './commons/iam.js';
import { logger } from './commons/logger.js';
import { DeactivateEvent } from './commons/state.js';
import { readStoredKey } from './commons/vault/stored-key.js';

export interface Deactivated {
  deactivated: string[];
  skipped: string[];
  /** True when an old key is still in use and the policy is `wait`: the state machine checks again later. */
  waiting: boolean;
  inUse: { accessKeyId: string; lastUsedAt: string }[];
}

/**
 * DeactivateOld: sets the keys that existed before this execution to Inactive, never Vault's key.
 * An old key used after the new key was stored still has a consumer; the request's policy says
 * whether to wait for it, proceed anyway or fail, leaving both keys Active.
 */
export const handler = async (event: unknown): Promise<Deactivated> => {
  const { request, created, stored } = parseEvent(DeactivateEvent, event);
  const { marginSeconds, maxWaitSeconds } = config().inUse;
  const user = iamUser(request, 'deactivateOld');
  const vaultKeyId = (await readStoredKey(request.vaultPath)).key?.accessKeyId;
  // An old key someone already deleted counts as retired.
  const existing = new Set((await listAccessKeys(user)).map((k) => k.accessKeyId));
  const old = created.oldAccessKeyIds.filter((id) => id !== vaultKeyId && existing.has(id));
  const storedAt = Date.parse(stored.storedAt);
  // In use: used after the store (plus the margin) and within the last re-check interval, so a
  // consumer that has switched stops counting. IAM reports last use to the second at best.
  const toSecond = (ms: number) => Math.floor(ms / 1000) * 1000;
  const threshold = Math.max(
    toSecond(storedAt) + marginSeconds * 1000,
    toSecond(Date.now() - request.inUseRecheckSeconds * 1000),
  );

  const inUse: Deactivated['inUse'] = [];
  for (const accessKeyId of old) {
    const lastUsedAt = await getLastUsed(user, accessKeyId);
    if (lastUsedAt && Date.parse(lastUsedAt) >= threshold) inUse.push({ accessKeyId, lastUsedAt });
  }
  if (inUse.length > 0 && request.oldKeyInUse !== 'proceed') {
    const waitedSeconds = (Date.now() - storedAt) / 1000;
    const ids = inUse.map((k) => `${k.accessKeyId} (last used ${k.lastUsedAt})`).join(', ');
    if (request.oldKeyInUse === 'wait' && waitedSeconds < maxWaitSeconds) {
      logger.warn('old key still in use; waiting', { inUse, waitedSeconds });
      return { deactivated: [], skipped: [], waiting: true, inUse };
    }
    throw new OldKeyStillInUseError(
      `old key(s) ${ids} of '${request.userName}' were used after the new key was stored; both keys are left Active (policy ${request.oldKeyInUse})`,
    );
  }

  const deactivated: string[] = [];
  const skipped = created.oldAccessKeyIds.filter((id) => !old.includes(id));
  for (const id of old) {
    // Already Inactive is fine; a key that is already gone counts as retired.
    if (await setAccessKeyStatus(user, id, 'Inactive')) deactivated.push(id);
    else skipped.push(id);
  }
  logger.info('deactivated old keys', { userName: request.userName, deactivated, skipped, inUse });
  return { deactivated, skipped, waiting: false, inUse };
};
