import { parseEvent } from './commons/event.js';
import { logger } from './commons/logger.js';
import { unseal } from './commons/seal.js';
import { type Created, NewKeyEvent } from './commons/state.js';
import { VaultDataError } from './commons/vault/errors.js';
import { deleteCurrentVersion, readStoredKey, restoreStoredData } from './commons/vault/stored-key.js';
import * as z from './commons/zod.js';

export interface Restored {
  /** `none`: Vault did not serve the new key; `rewrote-previous`: what it served before is current again. */
  action: 'none' | 'rewrote-previous' | 'deleted-new-version';
  version: number;
}

const Previous = z.record(z.string(), z.unknown());

/**
 * The sealed copy of what KV v1 served: a JSON object, written back as it was, whatever its
 * fields hold (numbers, lists, ...: consumers get exactly their previous value back).
 */
function parseSealed(plain: string, path: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(plain);
  } catch {
    value = undefined;
  }
  const parsed = Previous.safeParse(value);
  if (!parsed.success) {
    throw new VaultDataError(
      `the sealed previous value of ${path} is not a JSON object; nothing was written`,
    );
  }
  return parsed.data;
}

/** What Vault served before: the old version's data on KV v2, the sealed copy on KV v1. */
async function previousData(
  request: { vaultPath: string; execution: string; userName: string },
  created: Created,
): Promise<Record<string, unknown>> {
  const before = created.vaultBefore;
  if (before.sealedPrevious && before.accessKeyId) {
    const plain = await unseal(before.sealedPrevious, {
      execution: request.execution,
      userName: request.userName,
      accessKeyId: before.accessKeyId,
      purpose: 'previous-secret',
    });
    return parseSealed(plain, request.vaultPath);
  }
  const previous = await readStoredKey(request.vaultPath, before.version);
  if (previous.key?.accessKeyId !== before.accessKeyId || previous.data === null) {
    throw new VaultDataError(
      `version ${before.version} of ${request.vaultPath} no longer holds ${before.accessKeyId}`,
    );
  }
  return previous.data;
}

/** RestoreVault (rollback): if Vault serves the new key, puts back exactly what it served before. */
export const handler = async (event: unknown): Promise<Restored> => {
  const { request, created } = parseEvent(NewKeyEvent, event);
  const path = request.vaultPath;
  const current = await readStoredKey(path);
  if (current.key?.accessKeyId !== created.accessKeyId) {
    logger.info('Vault does not serve the new key; nothing to restore', { path, version: current.version });
    return { action: 'none', version: current.version };
  }
  if (created.vaultBefore.accessKeyId === null) {
    await deleteCurrentVersion(path);
    logger.info('deleted the new version; the path is empty again', { path, version: current.version });
    return { action: 'deleted-new-version', version: current.version };
  }
  const data = await previousData(request, created);
  const version = await restoreStoredData(path, data, {
    version: current.version,
    accessKeyId: created.accessKeyId,
  });
  logger.info('restored the previous key in Vault', {
    path,
    version,
    accessKeyId: created.vaultBefore.accessKeyId,
  });
  return { action: 'rewrote-previous', version };
};
