import { expect } from 'vitest';
import type { SeededUser } from '../../local-stack/provision.js';
import type { RotationReport } from '../../local-stack/rotation.js';
import type { TestStack } from './local-stack.js';

/** A 40-character run of the secret-key alphabet standing alone: the shape of a secret access key. */
const SECRET_SHAPE = /(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])/;

/** Fails when any known secret, or anything shaped like one, appears in the texts. */
export function expectNoSecrets(texts: string[], secrets: string[]): void {
  for (const text of texts) {
    for (const secret of secrets) expect(text.includes(secret), 'a secret access key leaked').toBe(false);
    expect(text.match(SECRET_SHAPE)?.[0], 'a secret-shaped string leaked').toBeUndefined();
  }
}

/** The id of the key CreateKey made, from its output in the history. */
export function newKeyId(report: Pick<RotationReport, 'history'>): string | undefined {
  const created = report.history.find((e) => e.type === 'StateExited' && e.state?.name === 'CreateKey');
  return (created?.state?.output as { created?: { accessKeyId?: string } } | undefined)?.created?.accessKeyId;
}

/**
 * Keys a failure may leave on purpose, each named where the operator sees it: RollbackFailed keeps
 * the new key when Vault cannot be checked (deleting it might break consumers), and a
 * ConcurrentRotationError names a key it found in flight and did not touch.
 */
export function keptOnPurpose(report: Pick<RotationReport, 'history' | 'error'>): string[] {
  if (report.error?.Error === 'RollbackFailed') {
    const id = newKeyId(report);
    return id ? [id] : [];
  }
  if (report.error?.Error === 'ConcurrentRotationError')
    return report.error.Cause.match(/AKIA[A-Z0-9]{16}/g) ?? [];
  return [];
}

/**
 * The product's promises, checked after any rotation:
 * (a) SUCCEEDED: exactly one key, Active, the one Vault serves, and STS accepts it;
 * (b) FAILED: Vault's key is Active and works, and no key exists that is neither Vault's nor pre-existing
 *     (but for a key the failure names, see keptOnPurpose);
 * (c) no secret access key in the history, the logs or the error;
 * (d) no old key deactivated or deleted before the new key was verified.
 */
export async function expectInvariants(
  ctx: TestStack,
  user: SeededUser,
  report: RotationReport & { logs: string[] },
): Promise<void> {
  const served = await ctx.vaultKey(user);
  const keys = report.after.accessKeys;
  if (report.status === 'SUCCEEDED') {
    expect(keys).toHaveLength(1);
    expect(keys[0]?.status).toBe('Active');
    expect(served?.accessKeyId).toBe(keys[0]?.accessKeyId);
  } else {
    if (served) {
      expect(keys.find((k) => k.accessKeyId === served.accessKeyId)?.status).toBe('Active');
    }
    const allowed = new Set([
      ...report.before.accessKeys.map((k) => k.accessKeyId),
      served?.accessKeyId,
      ...keptOnPurpose(report),
    ]);
    expect(
      keys.filter((k) => !allowed.has(k.accessKeyId)),
      'orphaned keys',
    ).toEqual([]);
    if (report.before.vault) expect(served, 'Vault lost its key').not.toBeNull();
  }
  if (served) expect(await ctx.works(served), 'the key Vault serves does not work').toBe(true);

  expectNoSecrets(
    [JSON.stringify(report.history), JSON.stringify(report.error), ...report.logs],
    ctx.knownSecrets(),
  );

  const entered = report.states;
  const verified = report.history.findIndex((e) => e.type === 'StateExited' && e.state?.name === 'VerifyKey');
  for (const retire of ['DeactivateOld', 'DeleteOld']) {
    const at = report.history.findIndex((e) => e.type === 'StateEntered' && e.state?.name === retire);
    if (at >= 0) expect(verified, `${retire} ran before VerifyKey succeeded`).toBeGreaterThanOrEqual(0);
    if (at >= 0) expect(at).toBeGreaterThan(verified);
  }
  expect(entered.length).toBeGreaterThan(0);
}
