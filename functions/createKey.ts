import { accountFolder, accountFolderProblem } from './commons/account-folders.js';
import { accountSettings } from './commons/accounts.js';
import { config } from './commons/config.js';
import { ConcurrentRotationError, InvalidInputError, TooManyAccessKeysError } from './commons/errors.js';
import { parseEvent } from './commons/event.js';
import {
  type AccessKeyInfo,
  createAccessKey,
  deleteAccessKey,
  getUserArn,
  getUserTags,
  type IamUser,
  iamUser,
  keyOwner,
  listAccessKeys,
  MAX_KEYS_PER_USER,
} from './commons/iam.js';
import { isServablePath, type Request } from './commons/input.js';
import { logger } from './commons/logger.js';
import {
  checkVaultPathPin,
  claimUser,
  describeKeys,
  keysBeforeThisExecution,
  pinnedVaultPath,
  VAULT_PATH_TAG,
} from './commons/ownership.js';
import { seal } from './commons/seal.js';
import { type Created, CreateKeyEvent, type DryRunPlan } from './commons/state.js';
import { kvVersion, readStoredKey } from './commons/vault/stored-key.js';

/** Inactive keys that may go to make room: only with deleteInactiveKey, never a key Vault serves. */
function keysToRemove(
  request: Request,
  keys: AccessKeyInfo[],
  served: readonly (string | null)[],
): AccessKeyInfo[] {
  if (keys.length < MAX_KEYS_PER_USER) return [];
  const removable = request.deleteInactiveKey
    ? keys.filter((key) => key.status === 'Inactive' && !served.includes(key.accessKeyId))
    : [];
  const remove = removable.slice(0, keys.length - MAX_KEYS_PER_USER + 1);
  if (keys.length - remove.length >= MAX_KEYS_PER_USER) {
    const hint = request.deleteInactiveKey
      ? 'none of them is an Inactive key that Vault does not hold'
      : 'set deleteInactiveKey to let the rotator delete an Inactive key that Vault does not hold';
    throw new TooManyAccessKeysError(
      `IAM user '${request.userName}' already has ${keys.length} access keys (${describeKeys(keys)}); ${hint}`,
    );
  }
  return remove;
}

/**
 * A vaultPath that serves another user's key is a mistake in the input: rotating would hand this
 * user's key to that path's consumers. A key that no longer exists is fine: the rotation repairs it.
 */
async function checkVaultServesThisUser(
  request: Request,
  user: IamUser,
  keys: AccessKeyInfo[],
  vaultKeyId: string | null,
) {
  if (vaultKeyId === null || keys.some((key) => key.accessKeyId === vaultKeyId)) return;
  const owner = await keyOwner(user.target, vaultKeyId);
  if (owner === null || owner === request.userName) return;
  throw new InvalidInputError(
    `vaultPath ${request.vaultPath} serves ${vaultKeyId}, a key of ${owner ? `'${owner}'` : 'another user'}, not of '${request.userName}'`,
  );
}

/**
 * Where the key of a user never pinned (every user when pins came) is served, when vaultPath serves
 * none of its keys: its default path, if that serves one.
 */
async function unpinnedHome(
  request: Request,
  keys: AccessKeyInfo[],
  vaultKeyId: string | null,
): Promise<string | null> {
  const own = (id: string | null | undefined) => keys.some((key) => key.accessKeyId === id);
  const { defaultVaultPath } = request;
  if (!defaultVaultPath || defaultVaultPath === request.vaultPath || own(vaultKeyId)) return null;
  return own((await readStoredKey(defaultVaultPath)).key?.accessKeyId) ? defaultVaultPath : null;
}

/**
 * Anyone who may tag the user can write the pin, and a move reads the path it names: it must be a
 * path this user may be served at, as ValidateInput checks a given one.
 */
function checkPinnedPath(request: Request, pinned: string): void {
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

/** CreateKey: makes the new access key and seals its secret; outputs ids and dates only. */
export const handler = async (event: unknown): Promise<Created | DryRunPlan> => {
  const { request } = parseEvent(CreateKeyEvent, event);
  const { userName } = request;
  const user = iamUser(request, 'createKey');
  const userArn = await getUserArn(user);
  const stored = await readStoredKey(request.vaultPath);
  const vaultBefore: Created['vaultBefore'] = {
    version: stored.version,
    accessKeyId: stored.key?.accessKeyId ?? null,
  };
  const keys = await listAccessKeys(user);
  const tags = await getUserTags(user);
  await checkVaultServesThisUser(request, user, keys, vaultBefore.accessKeyId);
  const pinned = pinnedVaultPath(tags);
  if (pinned !== null) checkPinnedPath(request, pinned);
  const home = pinned ?? (await unpinnedHome(request, keys, vaultBefore.accessKeyId));
  checkVaultPathPin(request, home, pinned !== null);
  // A move leaves the path it leaves serving the user's current key until it is retired: a stored key.
  const movingFrom = home !== null && home !== request.vaultPath ? home : null;
  const served = [
    vaultBefore.accessKeyId,
    movingFrom ? ((await readStoredKey(movingFrom)).key?.accessKeyId ?? null) : null,
  ];
  const existing = await keysBeforeThisExecution(request, user, keys, served, tags);
  const remove = keysToRemove(request, existing, served);
  const oldKeys = existing.filter((key) => !remove.includes(key));

  if (request.dryRun) {
    return {
      dryRun: true,
      userArn,
      existingAccessKeyIds: existing.map((k) => k.accessKeyId),
      wouldRemoveInactiveKeyIds: remove.map((k) => k.accessKeyId),
      vaultBefore,
    };
  }

  if (stored.key && stored.data && (await kvVersion()) === 1) {
    vaultBefore.sealedPrevious = await seal(JSON.stringify(stored.data), {
      execution: request.execution,
      userName,
      accessKeyId: stored.key.accessKeyId,
      purpose: 'previous-secret',
    });
  }
  await claimUser(request, user, oldKeys);
  for (const key of remove) await deleteAccessKey(user, key.accessKeyId);
  const key = await createAccessKey(user).catch((error: unknown) => {
    // The count said there was room: another key appeared after it, from an overlapping rotation.
    if (!(error instanceof TooManyAccessKeysError)) throw error;
    throw new ConcurrentRotationError(
      `a key of '${userName}' appeared while this execution was creating one`,
    );
  });
  let sealedSecret;
  try {
    sealedSecret = await seal(key.secretAccessKey, {
      execution: request.execution,
      userName,
      accessKeyId: key.accessKeyId,
      purpose: 'new-secret',
    });
  } catch (error) {
    // Without the sealed secret nobody can store this key: remove it rather than orphan it.
    await deleteAccessKey(user, key.accessKeyId);
    throw error;
  }
  logger.info('created access key', { userName, accessKeyId: key.accessKeyId, oldKeys: oldKeys.length });
  return {
    dryRun: false,
    userArn,
    accessKeyId: key.accessKeyId,
    createDate: key.createDate,
    sealedSecret,
    oldAccessKeyIds: oldKeys.map((k) => k.accessKeyId),
    hasOldKeys: oldKeys.length > 0,
    removedInactiveKeyIds: remove.map((k) => k.accessKeyId),
    vaultBefore,
    pinnedVaultPath: home,
  };
};
