import { accountFolder, accountFolderProblem } from './account-folders.js';
import { accountSettings } from './accounts.js';
import { config } from './config.js';
import { InvalidInputError } from './errors.js';
import type { AccessKeyInfo } from './iam.js';
import { isServablePath, type Request } from './input.js';
import { logger } from './logger.js';
import { describeKeys } from './ownership.js';
import { describeServed, isActiveKeyOf, type Pin, VAULT_PATH_MAC_TAG, VAULT_PATH_TAG } from './pin.js';
import { readStoredKey, type StoredKey } from './vault/stored-key.js';

/** What the serving rules read of a request: createKey's, or the one a fleet would start. */
export type ServingRequest = Pick<
  Request,
  'userName' | 'accountId' | 'vaultPath' | 'defaultVaultPath' | 'moveVaultPath' | 'adoptVaultPath'
>;

/**
 * Anyone who may tag the user can write the pin, and a move reads the path it names: it must be a
 * path this user may be served at, as ValidateInput checks a given one.
 */
export function checkPinnedPath(request: ServingRequest, pinned: string): void {
  const { pathPrefix, pathTemplate } = config().vault;
  const tag = `user tag ${VAULT_PATH_TAG} of '${request.userName}'`;
  if (!isServablePath(pinned, pathPrefix)) {
    throw new InvalidInputError(
      `${tag} names no Vault path below '${pathPrefix}': correct or remove the tag`,
    );
  }
  const accounts = accountSettings();
  if (accounts.allowedAccountIds.length === 0) return;
  const accountId = request.accountId ?? accounts.ownAccountId;
  const folder = accountFolder(pathTemplate, pathPrefix, accountId);
  const problem = folder && accountFolderProblem(pinned, accountId, folder, accounts.ownAccountId);
  if (problem) throw new InvalidInputError(`${tag} names '${pinned}': ${problem}; correct or remove the tag`);
}

/**
 * Where this user's consumers read its key today, as far as the rotator can prove it: the path its
 * pin names, followed only while that path serves one of the user's Active keys (a replayed older
 * pin names a path the user moved away from, which keeps only the old key: Active only while the new
 * one is too, when no rotation can start, then Inactive, then gone); for a user never pinned, a path
 * that serves one of its Active keys, the request's or (for a move) the default one; for a user with
 * no Active key (nothing to lose) its default path. Null when the input adopts the path. Anything
 * else is InvalidInputError before any write.
 */
export async function servingHome(
  request: ServingRequest,
  keys: AccessKeyInfo[],
  stored: StoredKey,
  pin: Pin | null,
): Promise<string | null> {
  const served = async (path: string) =>
    path === request.vaultPath ? stored.key?.accessKeyId : (await readStoredKey(path)).key?.accessKeyId;
  const active = keys.filter((key) => key.status === 'Active');
  if (pin !== null) {
    const at = await served(pin.path);
    if (isActiveKeyOf(at, keys) || (active.length === 0 && pin.signed)) return pin.path;
    // Anyone who may tag the user can write an unsigned pin: with no key to follow, it proves nothing.
    if (active.length === 0 && !request.adoptVaultPath && pin.path !== request.defaultVaultPath) {
      throw new InvalidInputError(
        `the unsigned pin (written by an earlier version) of '${request.userName}' names ${pin.path}, and the user has no Active key to prove its consumers read there: its key goes to its default path ${request.defaultVaultPath ?? ''} unless the input sets "adoptVaultPath": true (the deployment must allow it: allowVaultPathAdopt)`,
      );
    }
    if (active.length === 0) return pin.path;
    const kind = pin.signed ? 'pin' : 'unsigned pin (written by an earlier version)';
    throw new InvalidInputError(
      `the ${kind} of '${request.userName}' names ${pin.path}, which serves ${describeServed(at, keys)}, not one of its Active keys (${describeKeys(active)}): a stale or replayed pin is not followed; remove the tags ${VAULT_PATH_TAG} and ${VAULT_PATH_MAC_TAG} and rotate with the vaultPath its consumers read`,
    );
  }
  const { defaultVaultPath } = request;
  if (isActiveKeyOf(stored.key?.accessKeyId, keys)) return request.vaultPath;
  // Nothing to lose, but whoever reads the path gets a working key: the default path, or adopted.
  const firstKeyHome = defaultVaultPath === undefined || request.vaultPath === defaultVaultPath;
  if (active.length === 0 && firstKeyHome) return request.vaultPath;
  if (request.moveVaultPath && defaultVaultPath !== undefined && defaultVaultPath !== request.vaultPath) {
    if (isActiveKeyOf(await served(defaultVaultPath), keys)) return defaultVaultPath;
  }
  if (request.adoptVaultPath) {
    logger.warn('adopting a Vault path nothing proves the consumers read', {
      userName: request.userName,
      vaultPath: request.vaultPath,
    });
    return null;
  }
  if (active.length === 0) {
    throw new InvalidInputError(
      `'${request.userName}' has no ${VAULT_PATH_TAG} tag and no Active key: its key goes to its default path ${defaultVaultPath ?? ''}, not to ${request.vaultPath}, unless the input sets "adoptVaultPath": true (the deployment must allow it: allowVaultPathAdopt)`,
    );
  }
  const hint =
    defaultVaultPath !== undefined && defaultVaultPath !== request.vaultPath
      ? `Rotate with the vaultPath that serves its key (its default is ${defaultVaultPath})`
      : 'Rotate with the vaultPath that serves its key';
  throw new InvalidInputError(
    `'${request.userName}' has no ${VAULT_PATH_TAG} tag and vaultPath ${request.vaultPath} serves ${describeServed(stored.key?.accessKeyId, keys)}, not one of its Active keys (${describeKeys(active)}): nothing proves its consumers read ${request.vaultPath}, and the key they read would be retired. ${hint}, or set "adoptVaultPath": true if they read ${request.vaultPath} (the deployment must allow it: allowVaultPathAdopt)`,
  );
}
