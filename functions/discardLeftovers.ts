import { LeftoverUnprovenError, UserNotFoundError } from './commons/errors.js';
import { parseEvent } from './commons/event.js';
import {
  deleteAccessKey,
  getUser,
  getUserTags,
  iamUser,
  listAccessKeys,
  type UserIdentity,
} from './commons/iam.js';
import { withIamName } from './commons/iam-name.js';
import { logger } from './commons/logger.js';
import { claimOf, ownerOf, ownLeftovers, verifiedClaim } from './commons/ownership.js';
import { LeftoversEvent } from './commons/state.js';
import { readStoredKey } from './commons/vault/stored-key.js';

/** The keys it deleted: none when no attempt of CreateKey left one. */
interface Output {
  deletedAccessKeyIds: string[];
}

const NOTHING: Output = { deletedAccessKeyIds: [] };

/**
 * CreateKey's refusals that leave no key of this execution's: its attempt had deleted the earlier
 * attempts' keys, then created none or deleted the one it made (or another execution holds the
 * claim). A key made after the claim is someone else's: one made by hand is what makes IAM refuse
 * CreateKey's own (ConcurrentRotationError).
 */
const NOTHING_OF_OURS_LEFT = new Set(['ConcurrentRotationError', 'TooManyAccessKeysError']);

/**
 * DiscardLeftovers (CreateKey failed after its retries): deletes the keys CreateKey's attempts created
 * and then failed to return, by the proof a retry of CreateKey uses (ownLeftovers): this execution's
 * verified claim, made during its own run, and only keys created at or after it that it does not
 * list, never the key Vault serves. Under another execution's claim, or none, it deletes nothing.
 * Every attempt has ended by now (a Lambda's 60 s timeout is within its Task's 70 s). A re-run finds
 * the keys gone.
 */
export const handler = async (event: unknown): Promise<Output> => {
  const { request: given, failedWith } = parseEvent(LeftoversEvent, event);
  // A dry run creates nothing.
  if (given.dryRun || NOTHING_OF_OURS_LEFT.has(failedWith)) return NOTHING;
  let identity: UserIdentity;
  try {
    identity = await getUser(iamUser(given, 'discardLeftovers'));
  } catch (error) {
    // No user this deployment may rotate: CreateKey cannot have made a key for it.
    if (error instanceof UserNotFoundError) return NOTHING;
    throw error;
  }
  const request = withIamName(given, identity.userName);
  const user = iamUser(request, 'discardLeftovers');
  // Keys first, then the claim: a key made under a later claim is then seen with that claim.
  const keys = await listAccessKeys(user);
  const tags = await getUserTags(user);
  if (claimOf(tags)?.owner !== ownerOf(request)) return NOTHING;
  const subject = { accountId: user.target.accountId, userId: identity.userId, userName: request.userName };
  const candidates = ownLeftovers(request, await verifiedClaim(tags, subject), keys, []);
  if (candidates.length === 0) return NOTHING;
  const served = (await readStoredKey(request.vaultPath)).key?.accessKeyId ?? null;
  const leftovers = candidates.filter((key) => key.accessKeyId !== served);
  // Each attempt deletes the earlier attempts' keys, claims anew, then creates one: after the last
  // claim at most one key is this execution's. Two or more: someone else made one, and which is
  // unknown; a key made by hand may be in use.
  if (leftovers.length > 1) {
    throw new LeftoverUnprovenError(
      `keys ${leftovers.map((k) => `${k.accessKeyId} (created ${k.createDate})`).join(', ')} of '${request.userName}' ` +
        'were created after this execution claimed the user, and it creates at most one: none was deleted',
    );
  }
  const deleted: string[] = [];
  for (const key of leftovers) {
    if (await deleteAccessKey(user, key.accessKeyId)) deleted.push(key.accessKeyId);
  }
  logger.warn('discarded keys a failed CreateKey left', {
    userName: request.userName,
    deleted,
    keptServed: candidates.length > leftovers.length ? served : undefined,
  });
  return { deletedAccessKeyIds: deleted };
};
