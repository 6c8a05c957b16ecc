import type { HistoryEvent } from '@aws-sdk/client-sfn';

/** One rotation execution of a user, as Step Functions reports it. */
export interface RotationRun {
  status: string;
  error?: string;
  cause?: string;
  history: HistoryEvent[];
}

/** One fleet user after the run: its keys in IAM, the key Vault serves, its rotations. */
export interface UserEnd {
  userName: string;
  accountId: string;
  /** The key it had before the run, which Vault served. */
  oldAccessKeyId: string | null;
  keys: { accessKeyId: string; status?: string | undefined }[];
  served: { accessKeyId: string; secretAccessKey: string } | undefined;
  rotations: RotationRun[];
}

const exitOutput = (history: HistoryEvent[], state: string): unknown => {
  const event = history.find(
    (e) => e.type === 'TaskStateExited' && e.stateExitedEventDetails?.name === state,
  );
  try {
    return JSON.parse(event?.stateExitedEventDetails?.output ?? 'null') as unknown;
  } catch {
    return null;
  }
};

/** Keys a failed rotation leaves on purpose and names (test/support/invariants.ts keptOnPurpose). */
function keptOnPurpose(run: RotationRun): string[] {
  if (run.error === 'RollbackFailed') {
    const output = exitOutput(run.history, 'CreateKey') as { created?: { accessKeyId?: string } } | null;
    return output?.created?.accessKeyId ? [output.created.accessKeyId] : [];
  }
  if (run.error === 'ConcurrentRotationError') return run.cause?.match(/AKIA[A-Z0-9]{16}/g) ?? [];
  return [];
}

const enteredAt = (history: HistoryEvent[], type: string, state: string) =>
  history.findIndex(
    (e) => e.type === type && (e.stateEnteredEventDetails ?? e.stateExitedEventDetails)?.name === state,
  );

/**
 * The promises of test/support/invariants.ts, checked on one fleet user without a test runner,
 * and the fleet's own: at most one rotation per user (a retried item starts no second child), and
 * a user the fleet started nothing for keeps its keys as they were. Returns what is broken.
 */
export function userViolations(user: UserEnd): string[] {
  const broken: string[] = [];
  const { keys, served, rotations } = user;
  const active = (id: string | undefined) => keys.find((k) => k.accessKeyId === id)?.status === 'Active';
  if (rotations.length > 1) broken.push(`${rotations.length} rotations started`);
  const run = rotations[0];
  if (!run) {
    if (keys.length !== 1 || keys[0]?.accessKeyId !== user.oldAccessKeyId || !active(user.oldAccessKeyId))
      broken.push('not rotated, yet its keys changed');
    if (served?.accessKeyId !== user.oldAccessKeyId) broken.push('not rotated, yet Vault serves another key');
    return broken;
  }
  if (run.status === 'RUNNING') broken.push('its rotation is still running');
  if (run.status === 'SUCCEEDED') {
    if (keys.length !== 1 || !active(keys[0]?.accessKeyId))
      broken.push('SUCCEEDED without exactly one Active key');
    if (served?.accessKeyId !== keys[0]?.accessKeyId) broken.push('SUCCEEDED, but Vault serves another key');
    if (served?.accessKeyId === user.oldAccessKeyId) broken.push('SUCCEEDED, but Vault serves the old key');
  } else {
    if (!served) broken.push(`${run.status}: Vault lost its key`);
    else if (!active(served.accessKeyId)) broken.push(`${run.status}: the key Vault serves is not Active`);
    const allowed = new Set([user.oldAccessKeyId, served?.accessKeyId, ...keptOnPurpose(run)]);
    const orphans = keys.filter((k) => !allowed.has(k.accessKeyId)).map((k) => k.accessKeyId);
    if (orphans.length) broken.push(`${run.status}: orphaned keys ${orphans.join(', ')}`);
  }
  // No old key retired before the new one was verified.
  const verified = enteredAt(run.history, 'TaskStateExited', 'VerifyKey');
  for (const retire of ['DeactivateOld', 'DeleteOld']) {
    const at = enteredAt(run.history, 'TaskStateEntered', retire);
    if (at >= 0 && (verified < 0 || at < verified)) broken.push(`${retire} ran before VerifyKey succeeded`);
  }
  // No secret access key in the history (its inputs, outputs, errors).
  if (served && JSON.stringify(run.history).includes(served.secretAccessKey))
    broken.push('the secret access key Vault serves is in its history');
  return broken;
}
