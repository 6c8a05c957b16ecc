import { parseEvent } from './commons/event.js';
import { logger } from './commons/logger.js';
import { unseal } from './commons/seal.js';
import { StoreEvent, type Stored } from './commons/state.js';
import { describeRotation, readStoredKey, writeStoredKey } from './commons/vault/stored-key.js';

/** StoreInVault: writes the new key pair with check-and-set against the version createKey read. */
export const handler = async (event: unknown): Promise<Stored> => {
  const { request, created } = parseEvent(StoreEvent, event);
  const path = request.vaultPath;
  const current = await readStoredKey(path);
  const alreadyStored = current.key?.accessKeyId === created.accessKeyId;
  let version = current.version;
  if (!alreadyStored) {
    const secretAccessKey = await unseal(created.sealedSecret, {
      execution: request.execution,
      userName: request.userName,
      accessKeyId: created.accessKeyId,
      purpose: 'new-secret',
    });
    // A concurrent writer since createKey read Vault makes this fail with VaultCasConflictError.
    version = await writeStoredKey(
      path,
      { accessKeyId: created.accessKeyId, secretAccessKey },
      created.vaultBefore,
    );
  }
  await describeRotation(path, {
    rotated_at: new Date().toISOString(),
    rotated_by: request.execution,
    access_key_id: created.accessKeyId,
    previous_access_key_id: created.vaultBefore.accessKeyId ?? '',
  });
  logger.info('stored key in Vault', { path, version, accessKeyId: created.accessKeyId, alreadyStored });
  return {
    version,
    previousVersion: created.vaultBefore.version,
    alreadyStored,
    storedAt: new Date().toISOString(),
  };
};
