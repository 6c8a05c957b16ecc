import { createHash } from 'node:crypto';
import { ConcurrentRotationError } from './errors.js';
import type { AccessKeyInfo } from './iam.js';
import { deleteAccessKey, getUserTags, tagUsers } from './iam.js';
import { logger } from './logger.js';
import type { Request } from './input.js';

/** The user tag naming the execution that is creating a key for the user. */
export const OWNER_TAG = 'iam-key-rotator:execution';
/** When that execution claimed the user and which keys existed then (space-separated). */
export const CLAIM_TAG = 'iam-key-rotator:claim';

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

/** The user's current claim, if any, from its tags. */
export async function readClaim(userName: string): Promise<Claim | undefined> {
  const tags = await getUserTags(userName);
  const owner = tags[OWNER_TAG];
  const [claimedAt, ...keys] = (tags[CLAIM_TAG] ?? '').split(' ');
  const time = Date.parse(claimedAt ?? '');
  if (!owner || Number.isNaN(time)) return undefined;
  return { owner, claimedAt: time, keys: new Set(keys.filter(Boolean)) };
}

/**
 * Marks the user as being rotated by this execution and records the keys it has, before a new key
 * exists: a retry after a lost CreateAccessKey response can then tell its own key from the others.
 */
export async function claim(request: Request, existing: AccessKeyInfo[]): Promise<void> {
  const keys = existing.map((k) => k.accessKeyId).join(' ');
  await tagUsers(request.userName, {
    [OWNER_TAG]: ownerOf(request),
    [CLAIM_TAG]: `${new Date().toISOString()}${keys ? ` ${keys}` : ''}`,
  });
}

/** Keys that are neither in the claim nor served by Vault: created after the claim, never stored. */
export function unclaimedKeys(
  claimed: Claim,
  keys: AccessKeyInfo[],
  vaultKeyId: string | null,
): AccessKeyInfo[] {
  return keys.filter((key) => !claimed.keys.has(key.accessKeyId) && key.accessKeyId !== vaultKeyId);
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
 * Keys that exist before this execution's key. A retry of this execution drops the key an earlier
 * attempt created but never learned of (its response was lost); a fresh claim of another execution
 * with a key not in Vault yet means two rotations overlap: refuse without changing anything.
 */
export async function keysBeforeThisExecution(
  request: Request,
  keys: AccessKeyInfo[],
  vaultKeyId: string | null,
) {
  const claimed = await readClaim(request.userName);
  if (!claimed) return keys;
  const unclaimed = unclaimedKeys(claimed, keys, vaultKeyId);
  if (unclaimed.length === 0) return keys;
  if (claimed.owner !== ownerOf(request)) {
    if (!isFresh(claimed)) return keys;
    throw new ConcurrentRotationError(
      `execution ${claimed.owner} is rotating '${request.userName}': key(s) ${describeKeys(unclaimed)} are not in Vault yet`,
    );
  }
  // A dry run reports, and changes nothing.
  if (request.dryRun) return keys.filter((key) => !unclaimed.includes(key));
  for (const orphan of unclaimed) await deleteAccessKey(request.userName, orphan.accessKeyId);
  logger.warn('discarded keys of an earlier attempt', { orphans: unclaimed.map((k) => k.accessKeyId) });
  return keys.filter((key) => !unclaimed.includes(key));
}

/**
 * Claims the user for this execution. Tags cannot be written conditionally, so the claim is read
 * back: if another execution claimed the user in between, the later claim wins and this one steps
 * aside, having changed nothing but the tags.
 */
export async function claimUser(request: Request, existing: AccessKeyInfo[]): Promise<void> {
  await claim(request, existing);
  const now = await readClaim(request.userName);
  if (now?.owner !== ownerOf(request)) {
    throw new ConcurrentRotationError(
      `execution ${now?.owner ?? 'unknown'} claimed '${request.userName}' at the same time`,
    );
  }
}
