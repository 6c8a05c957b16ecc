import { createHash } from 'node:crypto';
import { errorCode } from './aws.js';
import { ConcurrentRotationError, InvalidInputError, RotatorError } from './errors.js';
import type { AccessKeyInfo, IamUser } from './iam.js';
import { deleteAccessKey, getUserTags, tagUsers } from './iam.js';
import { logger } from './logger.js';
import type { Request } from './input.js';

/** The user tag naming the execution that is creating a key for the user. */
export const OWNER_TAG = 'iam-key-rotator:execution';
/** When that execution claimed the user and which keys existed then (space-separated). */
export const CLAIM_TAG = 'iam-key-rotator:claim';

/**
 * The user tag naming the Vault path that serves the user's key: written once a key stored there is
 * verified, so a later rotation cannot hand the key to another path by mistake.
 */
export const VAULT_PATH_TAG = 'iam-key-rotator:vault-path';

/** A claim goes stale after this: by then its key is stored in Vault, or its execution has failed. */
export const CLAIM_TTL_MS = 15 * 60_000;

/**
 * The execution as a tag value: IAM tag values allow letters, digits, spaces and _ . : / = + - @,
 * execution names also ( ) ! ' and the like.
 */
export function ownerOf(request: Request): string {
  // A digest of the real ARN, so names that differ only in replaced characters stay apart.
  const digest = createHash('sha256').update(request.execution).digest('hex').slice(0, 16);
  return `${request.execution.replace(/[^\p{L}\p{Z}\p{N}_.:/=+\-@]/gu, '_').slice(0, 230)} ${digest}`;
}

/** Which execution claimed the user, when, and the keys that existed at that moment. */
export interface Claim {
  owner: string;
  claimedAt: number;
  keys: Set<string>;
}

/** The claim the user's tags hold, if any. */
export function claimOf(tags: Record<string, string>): Claim | undefined {
  const owner = tags[OWNER_TAG];
  const [claimedAt, ...keys] = (tags[CLAIM_TAG] ?? '').split(' ');
  const time = Date.parse(claimedAt ?? '');
  if (!owner || Number.isNaN(time)) return undefined;
  return { owner, claimedAt: time, keys: new Set(keys.filter(Boolean)) };
}

/** The user's current claim, if any, read from IAM. */
export async function readClaim(user: IamUser): Promise<Claim | undefined> {
  return claimOf(await getUserTags(user));
}

// IAM tag values allow no comma, which Vault paths (and user names) may hold; a colon is never in one.
const pinOf = (path: string) => path.replaceAll(',', ':');
const pathOf = (pin: string) => pin.replaceAll(':', ',');

/** The path the user's key is pinned to, or null before its first rotation since pins exist. */
export function pinnedVaultPath(tags: Record<string, string>): string | null {
  const pin = tags[VAULT_PATH_TAG];
  return pin ? pathOf(pin) : null;
}

/**
 * A vaultPath other than the one serving the user's key (its pin, or for a user never pinned its
 * default path) is a typo until the input says it moves the key on purpose: the key would go where
 * no consumer reads it, and the key they read be retired.
 */
export function checkVaultPathPin(request: Request, servedAt: string | null, pinned = true): void {
  if (servedAt === null || servedAt === request.vaultPath || request.moveVaultPath) return;
  const how = pinned
    ? `user tag ${VAULT_PATH_TAG}`
    : `its default path; the user has no ${VAULT_PATH_TAG} tag yet`;
  throw new InvalidInputError(
    `vaultPath ${request.vaultPath} is not ${servedAt}, where the key of '${request.userName}' is served (${how}); to move the key there on purpose, set "moveVaultPath": true (the deployment must allow it: allowVaultPathMove)`,
  );
}

/** A move of the user's key to another Vault path, as the execution reports it. */
export interface VaultPathMove {
  from: string;
  to: string;
  notice: string;
}

/** What verifyKey reports of the pin: whether it names the verified path now, and a move. */
export interface Pinning {
  pinned: boolean;
  /** Why the pin could not be written (an error name and code, never a secret). */
  pinFailure?: string;
  moved?: VaultPathMove;
}

/**
 * Pins the user to the path whose key was just verified (a first rotation or a move); a re-run
 * writes the same tag again. Reports a move, which the old path's consumers must follow.
 *
 * A first pin that cannot be written (after the SDK's own retries) does not fail the step: STS
 * accepted the key Vault serves, and a rollback would take that working key away; without the pin
 * the next rotation is checked as before this one. A move's pin failure fails it: the next rotation
 * would otherwise follow the old pin and retire the key the new path serves, while a rollback of a
 * move leaves the old path's consumers their key.
 */
export async function pinVerifiedPath(
  request: Request,
  user: IamUser,
  pinnedBefore: string | null | undefined,
): Promise<Pinning> {
  if (pinnedBefore === request.vaultPath) return { pinned: true };
  try {
    await tagUsers(user, { [VAULT_PATH_TAG]: pinOf(request.vaultPath) });
  } catch (error) {
    if (pinnedBefore) throw error;
    const pinFailure = error instanceof RotatorError ? `${error.name}: ${error.message}` : errorCode(error);
    logger.warn('could not pin the Vault path; the key stays, the user unpinned', {
      userName: request.userName,
      vaultPath: request.vaultPath,
      error: error instanceof Error ? error.name : 'UnknownError',
      pinFailure,
    });
    return { pinned: false, pinFailure };
  }
  if (!pinnedBefore) return { pinned: true };
  const moved = {
    from: pinnedBefore,
    to: request.vaultPath,
    notice: `consumers of ${pinnedBefore} must read ${request.vaultPath} from now on: ${pinnedBefore} keeps the old key, which is deactivated after the grace period`,
  };
  logger.warn('moved the key to another Vault path', { userName: request.userName, ...moved });
  return { pinned: true, moved };
}

/**
 * Marks the user as being rotated by this execution and records the keys it has, before a new key
 * exists: a retry after a lost CreateAccessKey response can then tell its own key from the others.
 */
export async function claim(request: Request, user: IamUser, existing: AccessKeyInfo[]): Promise<void> {
  const keys = existing.map((k) => k.accessKeyId).join(' ');
  await tagUsers(user, {
    [OWNER_TAG]: ownerOf(request),
    [CLAIM_TAG]: `${new Date().toISOString()}${keys ? ` ${keys}` : ''}`,
  });
}

/**
 * Keys that are neither in the claim nor served by Vault (at the request's path, or the pinned path a
 * move leaves): created after the claim, never stored.
 */
export function unclaimedKeys(
  claimed: Claim,
  keys: AccessKeyInfo[],
  served: readonly (string | null)[],
): AccessKeyInfo[] {
  return keys.filter((key) => !claimed.keys.has(key.accessKeyId) && !served.includes(key.accessKeyId));
}

/** True while a claim by another execution may still be followed by that execution's store. */
export function isFresh(claimed: Claim, now = Date.now()): boolean {
  return now - claimed.claimedAt < CLAIM_TTL_MS;
}

/** Ids and statuses, for messages. */
export function describeKeys(keys: AccessKeyInfo[]): string {
  return keys.map((k) => `${k.accessKeyId} (${k.status})`).join(', ');
}

/**
 * Keys that exist before this execution's key, judged by the user's tags read after `keys` were
 * listed (read before, they could miss a claim made in between). A retry of this execution drops the
 * key an earlier attempt created but never learned of (its response was lost); a fresh claim of
 * another execution with a key not in Vault yet means two rotations overlap: refuse without changing
 * anything.
 */
export async function keysBeforeThisExecution(
  request: Request,
  user: IamUser,
  keys: AccessKeyInfo[],
  served: readonly (string | null)[],
  tags: Record<string, string>,
) {
  const claimed = claimOf(tags);
  if (!claimed) return keys;
  const unclaimed = unclaimedKeys(claimed, keys, served);
  if (unclaimed.length === 0) return keys;
  if (claimed.owner !== ownerOf(request)) {
    if (!isFresh(claimed)) return keys;
    throw new ConcurrentRotationError(
      `execution ${claimed.owner} is rotating '${request.userName}': key(s) ${describeKeys(unclaimed)} are not in Vault yet`,
    );
  }
  // A dry run reports, and changes nothing.
  if (request.dryRun) return keys.filter((key) => !unclaimed.includes(key));
  for (const orphan of unclaimed) await deleteAccessKey(user, orphan.accessKeyId);
  logger.warn('discarded keys of an earlier attempt', { orphans: unclaimed.map((k) => k.accessKeyId) });
  return keys.filter((key) => !unclaimed.includes(key));
}

/**
 * Claims the user for this execution. Tags cannot be written conditionally, so the claim is read
 * back: if another execution claimed the user in between, the later claim wins and this one steps
 * aside, having changed nothing but the tags.
 */
export async function claimUser(request: Request, user: IamUser, existing: AccessKeyInfo[]): Promise<void> {
  await claim(request, user, existing);
  const now = await readClaim(user);
  if (now?.owner !== ownerOf(request)) {
    throw new ConcurrentRotationError(
      `execution ${now?.owner ?? 'unknown'} claimed '${request.userName}' at the same time`,
    );
  }
}
