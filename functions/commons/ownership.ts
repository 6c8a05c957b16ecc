import type { AccessKeyInfo } from './iam.js';
import { getUserTags, tagUser } from './iam.js';
import type { Request } from './input.js';

/** The user tag naming the execution that is creating a key for the user. */
export const ROTATION_TAG = 'iam-key-rotator:execution';

/** IAM key dates have second precision; compare against the start truncated to the second. */
function startSecond(request: Request): string {
  const start = new Date(request.startedAt);
  start.setUTCMilliseconds(0);
  return start.toISOString();
}

/** Keys created since this execution started that Vault does not serve: unstored new keys. */
export function unstoredNewKeys(request: Request, keys: AccessKeyInfo[], vaultKeyId: string | null) {
  const since = startSecond(request);
  return keys.filter((key) => key.createDate >= since && key.accessKeyId !== vaultKeyId);
}

/** The execution that last claimed the user, if any; when it is this one, its unstored keys are ours. */
export async function rotationOwner(request: Request): Promise<string | undefined> {
  return (await getUserTags(request.userName))[ROTATION_TAG];
}

/** Marks the user as being rotated by this execution, before a key exists that a retry must find. */
export async function claim(request: Request): Promise<void> {
  await tagUser(request.userName, ROTATION_TAG, request.execution);
}
