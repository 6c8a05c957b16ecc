import { createHash } from 'node:crypto';
import { ConcurrentRotationError } from './errors.js';
import type { AccessKeyInfo, IamUser } from './iam.js';
import { deleteAccessKey, getUserTags, tagUsers } from './iam.js';
import type { Request } from './input.js';
import { logger } from './logger.js';
import { CLOCK_SKEW_MS, type TagSubject } from './pin.js';
import { signTag, verifyTag } from './tag-mac.js';

/** The user tag naming the execution that is creating a key for the user. */
export const OWNER_TAG = 'iam-key-rotator:execution';
/** When that execution claimed the user and which keys existed then (space-separated). */
export const CLAIM_TAG = 'iam-key-rotator:claim';
/** `v1 <MAC>`: the claim key's MAC over the account, the user's id, the owner, the time and the keys. */
export const CLAIM_MAC_TAG = 'iam-key-rotator:claim-mac';

/** A claim goes stale after this: by then its key is stored in Vault, or its execution has failed. */
export const CLAIM_TTL_MS = 15 * 60_000;

/** IAM's CreateDate has whole seconds: a key made right after a claim may show an earlier second. */
const CREATE_DATE_RESOLUTION_MS = 1_000;

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

/** The claim the user's tags seem to hold, unchecked: only a hint until verifiedClaim proves it. */
export function claimOf(tags: Record<string, string>): Claim | undefined {
  const owner = tags[OWNER_TAG];
  const [claimedAt, ...keys] = (tags[CLAIM_TAG] ?? '').split(' ');
  const time = Date.parse(claimedAt ?? '');
  if (!owner || Number.isNaN(time)) return undefined;
  return { owner, claimedAt: time, keys: new Set(keys.filter(Boolean)) };
}

const signedFields = (subject: TagSubject, owner: string, claimTag: string) => [
  subject.accountId,
  subject.userId,
  owner,
  claimTag,
];

/**
 * The claim the user's tags hold, if the rotator wrote it: tags anyone who may tag the user can
 * write, so a claim whose MAC does not verify, or that is dated in the future, is no claim at all.
 */
export async function verifiedClaim(
  tags: Record<string, string>,
  subject: TagSubject,
): Promise<Claim | undefined> {
  const claimed = claimOf(tags);
  if (!claimed) return undefined;
  const [version, signature, ...rest] = (tags[CLAIM_MAC_TAG] ?? '').split(' ');
  const valid =
    version === 'v1' &&
    signature !== undefined &&
    rest.length === 0 &&
    claimed.claimedAt <= Date.now() + CLOCK_SKEW_MS &&
    (await verifyTag('claim', signedFields(subject, claimed.owner, tags[CLAIM_TAG] ?? ''), signature));
  if (!valid) {
    logger.warn('ignored a claim the rotator did not write', {
      userName: subject.userName,
      owner: claimed.owner,
    });
    return undefined;
  }
  return claimed;
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
 * The keys this execution created in an earlier attempt but never learned of (the response was
 * lost), never stored: only under a claim this execution verifiably made during its own run (an
 * execution name can be used again 90 days after its execution closed: an older claim under the same
 * name is that other execution's), and only keys created at or after it.
 */
export function ownLeftovers(
  request: Request,
  claimed: Claim | undefined,
  keys: AccessKeyInfo[],
  served: readonly (string | null)[],
): AccessKeyInfo[] {
  if (!claimed || claimed.owner !== ownerOf(request)) return [];
  if (claimed.claimedAt < Date.parse(request.startedAt) - CLOCK_SKEW_MS) return [];
  return unclaimedKeys(claimed, keys, served).filter(
    (key) => Date.parse(key.createDate) >= claimed.claimedAt - CREATE_DATE_RESOLUTION_MS,
  );
}

/**
 * Keys that exist before this execution's key, judged by the user's verified claim read after `keys`
 * were listed (read before, it could miss a claim made in between). A retry of this execution
 * deletes its own leftovers (ownLeftovers). A fresh claim of another execution with a key not in
 * Vault yet means two rotations overlap: refuse without changing anything. Without a verified claim
 * no key is ever deleted.
 */
export async function keysBeforeThisExecution(
  request: Request,
  user: IamUser,
  claimed: Claim | undefined,
  keys: AccessKeyInfo[],
  served: readonly (string | null)[],
) {
  if (!claimed) return keys;
  if (claimed.owner !== ownerOf(request)) {
    const unclaimed = unclaimedKeys(claimed, keys, served);
    if (unclaimed.length === 0 || !isFresh(claimed)) return keys;
    throw new ConcurrentRotationError(
      `execution ${claimed.owner} is rotating '${request.userName}': key(s) ${describeKeys(unclaimed)} are not in Vault yet`,
    );
  }
  const leftovers = ownLeftovers(request, claimed, keys, served);
  if (leftovers.length === 0) return keys;
  // A dry run reports, and changes nothing.
  if (request.dryRun) return keys.filter((key) => !leftovers.includes(key));
  for (const orphan of leftovers) await deleteAccessKey(user, orphan.accessKeyId);
  logger.warn('discarded keys of an earlier attempt', { orphans: leftovers.map((k) => k.accessKeyId) });
  return keys.filter((key) => !leftovers.includes(key));
}

/** The claim tags an execution wrote, to tell later whether they are still the user's. */
export type WrittenClaim = Record<string, string>;

const stillOurs = (tags: Record<string, string>, written: WrittenClaim) =>
  Object.entries(written).every(([key, value]) => tags[key] === value);

/**
 * Claims the user for this execution. Tags cannot be written conditionally, so the claim is read
 * back: if anyone wrote the claim tags in between, the later write wins and this execution steps
 * aside, having changed nothing but the tags.
 */
export async function claimUser(
  request: Request,
  user: IamUser,
  subject: TagSubject,
  existing: AccessKeyInfo[],
): Promise<WrittenClaim> {
  const owner = ownerOf(request);
  const claimTag = [new Date().toISOString(), ...existing.map((k) => k.accessKeyId)].join(' ');
  const signature = await signTag('claim', signedFields(subject, owner, claimTag));
  const written = { [OWNER_TAG]: owner, [CLAIM_TAG]: claimTag, [CLAIM_MAC_TAG]: `v1 ${signature}` };
  await tagUsers(user, written);
  const now = await getUserTags(user);
  if (!stillOurs(now, written)) {
    throw new ConcurrentRotationError(
      `execution ${now[OWNER_TAG] ?? 'unknown'} claimed '${request.userName}' at the same time`,
    );
  }
  return written;
}

/**
 * After creating its key: the claim must still be this execution's. Another execution that claimed
 * the user since takes every key created after its claim for a leftover of its own, and may delete
 * it; so a key made under a lost claim is given up here, deleted by its maker, never stored.
 */
export async function keepClaim(
  request: Request,
  user: IamUser,
  written: WrittenClaim,
  accessKeyId: string,
): Promise<void> {
  let now: Record<string, string>;
  try {
    now = await getUserTags(user);
  } catch (error) {
    // Unknown: give the key up rather than orphan it; a retry claims and creates again.
    await deleteAccessKey(user, accessKeyId);
    throw error;
  }
  if (stillOurs(now, written)) return;
  await deleteAccessKey(user, accessKeyId);
  throw new ConcurrentRotationError(
    `execution ${now[OWNER_TAG] ?? 'unknown'} claimed '${request.userName}' while this execution created ${accessKeyId}, which it deleted`,
  );
}
