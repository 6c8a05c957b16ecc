import { ConcurrentRotationError, InvalidInputError, TooManyAccessKeysError } from './commons/errors.js';
import { parseEvent } from './commons/event.js';
import {
  type AccessKeyInfo,
  createAccessKey,
  deleteAccessKey,
  getUser,
  getUserTags,
  type IamUser,
  iamUser,
  keyOwner,
  listAccessKeys,
  MAX_KEYS_PER_USER,
} from './commons/iam.js';
import { withIamName } from './commons/iam-name.js';
import type { Request } from './commons/input.js';
import { logger } from './commons/logger.js';
import {
  claimUser,
  describeKeys,
  keepClaim,
  keysBeforeThisExecution,
  ownLeftovers,
  verifiedClaim,
} from './commons/ownership.js';
import { checkVaultPathPin, readPin, type TagSubject } from './commons/pin.js';
import { seal } from './commons/seal.js';
import { type Created, CreateKeyEvent, type DryRunPlan } from './commons/state.js';
import { checkPinnedPath, servingHome } from './commons/serving.js';
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

/** createKey's output: the request under IAM's spelling of the user name, and what it did. */
type Output = (Created | DryRunPlan) & { request: Request };

/**
 * CreateKey: makes the new access key and seals its secret; outputs ids and dates only. The state
 * machine takes its `request` as the rotation's from here on (IAM's spelling of the user name).
 */
export const handler = async (event: unknown): Promise<Output> => {
  const given = parseEvent(CreateKeyEvent, event).request;
  const identity = await getUser(iamUser(given, 'createKey'));
  const request = withIamName(given, identity.userName);
  const { userName } = request;
  const user = iamUser(request, 'createKey');
  const subject: TagSubject = { accountId: user.target.accountId, userId: identity.userId, userName };
  const stored = await readStoredKey(request.vaultPath);
  const vaultBefore: Created['vaultBefore'] = {
    version: stored.version,
    accessKeyId: stored.key?.accessKeyId ?? null,
  };
  const keys = await listAccessKeys(user);
  const tags = await getUserTags(user);
  await checkVaultServesThisUser(request, user, keys, vaultBefore.accessKeyId);
  const pin = await readPin(tags, subject);
  if (pin !== null) checkPinnedPath(request, pin.path);
  const claimed = await verifiedClaim(tags, subject);
  // A key an earlier attempt of this execution made is nobody's key yet: it proves no path.
  const mine = ownLeftovers(request, claimed, keys, [vaultBefore.accessKeyId]);
  const home = await servingHome(
    request,
    keys.filter((key) => !mine.includes(key)),
    stored,
    pin,
  );
  if (pin !== null) checkVaultPathPin(request, pin.path);
  // A move leaves the path it leaves serving the user's current key until it is retired: a stored key.
  const movingFrom = home !== null && home !== request.vaultPath ? home : null;
  const served = [
    vaultBefore.accessKeyId,
    movingFrom ? ((await readStoredKey(movingFrom)).key?.accessKeyId ?? null) : null,
  ];
  const existing = await keysBeforeThisExecution(request, user, claimed, keys, served);
  const remove = keysToRemove(request, existing, served);
  const oldKeys = existing.filter((key) => !remove.includes(key));

  if (request.dryRun) {
    return {
      request,
      dryRun: true,
      userArn: identity.arn,
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
  const claim = await claimUser(request, user, subject, oldKeys);
  for (const key of remove) await deleteAccessKey(user, key.accessKeyId);
  const key = await createAccessKey(user).catch((error: unknown) => {
    // The count said there was room: another key appeared after it, from an overlapping rotation.
    if (!(error instanceof TooManyAccessKeysError)) throw error;
    throw new ConcurrentRotationError(
      `a key of '${userName}' appeared while this execution was creating one`,
    );
  });
  await keepClaim(request, user, claim, key.accessKeyId);
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
    request,
    dryRun: false,
    userArn: identity.arn,
    userId: identity.userId,
    accessKeyId: key.accessKeyId,
    createDate: key.createDate,
    sealedSecret,
    oldAccessKeyIds: oldKeys.map((k) => k.accessKeyId),
    hasOldKeys: oldKeys.length > 0,
    removedInactiveKeyIds: remove.map((k) => k.accessKeyId),
    vaultBefore,
    pinnedVaultPath: home,
    pinSigned: pin?.signed === true && pin.path === home,
  };
};
