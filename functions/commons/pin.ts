import { errorCode } from './aws.js';
import { InvalidInputError, RotatorError } from './errors.js';
import type { AccessKeyInfo, IamUser } from './iam.js';
import { tagUsers } from './iam.js';
import type { Request } from './input.js';
import { logger } from './logger.js';
import { signTag, verifyTag } from './tag-mac.js';

/**
 * The user tag naming the Vault path that serves the user's key: written once a key stored there is
 * verified, so a later rotation cannot hand the key to another path by mistake.
 */
export const VAULT_PATH_TAG = 'iam-key-rotator:vault-path';
/** `v1 <time> <MAC>`: the pin key's MAC over the account, the user's id, the path and the time. */
export const VAULT_PATH_MAC_TAG = 'iam-key-rotator:vault-path-mac';

/**
 * In every error about a pin the rotator did not write: the tamper alert's rule (deploy/alerts.cjs,
 * policies.cjs TAMPER_PHRASE, which a test holds equal) matches it.
 */
export const TAMPER_PHRASE = 'changed outside the rotator';

/** How far ahead of this function's clock a signed time may be and still count (clocks differ). */
export const CLOCK_SKEW_MS = 60_000;

/** Whom a signed tag is about: IAM's id, so a re-created user of the same name inherits nothing. */
export interface TagSubject {
  accountId: string;
  userId: string;
  /** IAM's spelling of the name, for messages. */
  userName: string;
}

// IAM tag values allow no comma, which Vault paths (and user names) may hold; a colon is never in one.
const pinOf = (path: string) => path.replaceAll(',', ':');
const pathOf = (pin: string) => pin.replaceAll(':', ',');

/** The pin a user's tags hold: signed by the rotator, or written before pins were signed. */
export interface Pin {
  path: string;
  signed: boolean;
}

function tampered(subject: TagSubject, detail: string): InvalidInputError {
  return new InvalidInputError(
    `the pin of '${subject.userName}' was ${TAMPER_PHRASE} (${detail}); nothing was changed. Look in CloudTrail for who tagged the user; to rotate it again, remove the tags ${VAULT_PATH_TAG} and ${VAULT_PATH_MAC_TAG} and start a rotation with the vaultPath its consumers read`,
  );
}

/**
 * The user's pin, its signature checked: null when the user was never pinned, unsigned for a pin
 * an earlier version wrote. A pin whose signature is missing where a MAC tag is, malformed, dated in
 * the future or not the rotator's is InvalidInputError (tampering), before anything is written.
 */
export async function readPin(tags: Record<string, string>, subject: TagSubject): Promise<Pin | null> {
  const pin = tags[VAULT_PATH_TAG];
  const mac = tags[VAULT_PATH_MAC_TAG];
  if (pin === undefined && mac === undefined) return null;
  if (!pin) {
    throw tampered(
      subject,
      pin === '' ? `an empty ${VAULT_PATH_TAG}` : `${VAULT_PATH_MAC_TAG} without ${VAULT_PATH_TAG}`,
    );
  }
  const path = pathOf(pin);
  if (mac === undefined) return { path, signed: false };
  const [version, time, signature, ...rest] = mac.split(' ');
  const signedAt = Date.parse(time ?? '');
  if (version !== 'v1' || !signature || rest.length > 0 || Number.isNaN(signedAt)) {
    throw tampered(subject, `${VAULT_PATH_MAC_TAG} is not a signature the rotator writes`);
  }
  if (signedAt > Date.now() + CLOCK_SKEW_MS) throw tampered(subject, `signed in the future, ${time}`);
  const fields = [subject.accountId, subject.userId, path, time ?? ''];
  if (!(await verifyTag('pin', fields, signature))) {
    throw tampered(subject, `the signature does not match the path '${path}'`);
  }
  return { path, signed: true };
}

/** The pin tags for `path`, signed now. */
export async function pinTags(subject: TagSubject, path: string): Promise<Record<string, string>> {
  const time = new Date().toISOString();
  const signature = await signTag('pin', [subject.accountId, subject.userId, path, time]);
  return { [VAULT_PATH_TAG]: pinOf(path), [VAULT_PATH_MAC_TAG]: `v1 ${time} ${signature}` };
}

/** True when `accessKeyId` is one of the user's Active keys: whoever reads it there uses this user's key. */
export function isActiveKeyOf(
  accessKeyId: string | null | undefined,
  keys: readonly AccessKeyInfo[],
): boolean {
  return keys.some((key) => key.status === 'Active' && key.accessKeyId === accessKeyId);
}

/** What a Vault path serves, for messages. */
export function describeServed(
  accessKeyId: string | null | undefined,
  keys: readonly AccessKeyInfo[],
): string {
  if (!accessKeyId) return 'no key';
  const key = keys.find((k) => k.accessKeyId === accessKeyId);
  if (!key) return `${accessKeyId}, which is not a key of this user`;
  return `${accessKeyId} (${key.status})`;
}

/**
 * A vaultPath other than the pinned one is a typo until the input says it moves the key on purpose:
 * the key would go where no consumer reads it, and the key they read be retired.
 */
export function checkVaultPathPin(request: Request, pinned: string): void {
  if (pinned === request.vaultPath || request.moveVaultPath) return;
  throw new InvalidInputError(
    `vaultPath ${request.vaultPath} is not ${pinned}, where the key of '${request.userName}' is served (user tag ${VAULT_PATH_TAG}); to move the key there on purpose, set "moveVaultPath": true (the deployment must allow it: allowVaultPathMove)`,
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

/** Where the user was pinned before this rotation, as createKey found it. */
export interface PinBefore {
  /** The pinned path, or for a user never pinned that a move takes from another path, that path. */
  path: string | null | undefined;
  /** False when that pin was written unsigned by an earlier version: it is signed now. */
  signed?: boolean | undefined;
  /** IAM's id of the user; absent in executions started before pins were signed. */
  userId?: string | undefined;
}

/**
 * Pins the user to the path whose key was just verified (a first rotation, a move, or a pin an
 * earlier version wrote unsigned); a re-run writes the same tags again. Reports a move, which the old
 * path's consumers must follow.
 *
 * A first pin that cannot be written (after the SDK's own retries) does not fail the step: STS
 * accepted the key Vault serves, and a rollback would take that working key away; without the pin
 * the next rotation is checked as before this one. A move's pin failure fails it: the next rotation
 * would otherwise follow the old pin and retire the key the new path serves, while a rollback of a
 * move leaves the old path's consumers their key.
 */
export async function pinVerifiedPath(request: Request, user: IamUser, before: PinBefore): Promise<Pinning> {
  const pinnedBefore = before.path ?? null;
  const moving = pinnedBefore !== null && pinnedBefore !== request.vaultPath;
  if (!moving && pinnedBefore !== null && before.signed !== false) return { pinned: true };
  try {
    if (!before.userId) throw new InvalidInputError('the execution started before pins were signed');
    const subject = { accountId: user.target.accountId, userId: before.userId, userName: request.userName };
    await tagUsers(user, await pinTags(subject, request.vaultPath));
  } catch (error) {
    if (moving) throw error;
    const pinFailure = error instanceof RotatorError ? `${error.name}: ${error.message}` : errorCode(error);
    logger.warn('could not pin the Vault path; the key stays, the user unpinned', {
      userName: request.userName,
      vaultPath: request.vaultPath,
      error: error instanceof Error ? error.name : 'UnknownError',
      pinFailure,
    });
    return { pinned: false, pinFailure };
  }
  if (!moving) return { pinned: true };
  const moved = {
    from: pinnedBefore,
    to: request.vaultPath,
    notice: `consumers of ${pinnedBefore} must read ${request.vaultPath} from now on: ${pinnedBefore} keeps the old key, which is deactivated after the grace period`,
  };
  logger.warn('moved the key to another Vault path', { userName: request.userName, ...moved });
  return { pinned: true, moved };
}
