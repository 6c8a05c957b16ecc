import { expect, it } from 'vitest';
import { expectInvariants, newKeyId } from '../support/invariants.js';
import { expectFailure, expectSuccess } from '../support/scenarios.js';
import { type MotoStack, verifyReadRefused } from './support.js';

/** What every rotation suite asserts, here on moto's IAM, STS and KMS. */
export function rotationCases(ctx: MotoStack, prefix: string): void {
  it('rotates: SUCCEEDED, the new key in Vault, the old key gone', async () => {
    const user = await ctx.seed(`${prefix}-rotates`);
    const report = await ctx.rotate(user);
    expectSuccess(report);
    const created = newKeyId(report);
    expect(created).toMatch(/^AKIA/);
    expect(report.after.accessKeys).toEqual([
      expect.objectContaining({ accessKeyId: created, status: 'Active' }),
    ]);
    expect(report.after.vault?.accessKeyId).toBe(created);
    expect(report.after.accessKeys.map((k) => k.accessKeyId)).not.toContain(user.oldAccessKeyId);
    await expectInvariants(ctx, user, report);
  });

  it('rolls back when Vault refuses the write: FAILED, the old key kept and still served', async () => {
    const user = await ctx.seed(`${prefix}-write-refused`);
    const report = await ctx.rotate(user, { faults: ['vault:kv-write:403x2'] });
    expectFailure(report, 'VaultWriteFailed', 'VaultWriteFailed');
    expect(report.states).toContain('DiscardNewKey');
    expect(report.after.accessKeys).toEqual(report.before.accessKeys);
    expect(report.after.vault).toEqual(report.before.vault);
    await expectInvariants(ctx, user, report);
  });

  it('rolls back when the stored key cannot be verified: the previous Vault value restored', async () => {
    const user = await ctx.seed(`${prefix}-unverified`);
    const report = await ctx.rotate(user, { faults: [verifyReadRefused(ctx.target)] });
    expectFailure(report, 'VerificationFailed', 'VerificationFailed');
    const restored = report.history.find((e) => e.type === 'StateExited' && e.state?.name === 'RestoreVault');
    expect(restored?.state?.output).toMatchObject({ rollback: { vault: { action: 'rewrote-previous' } } });
    expect(report.states).toContain('DiscardNewKey');
    expect(report.after.accessKeys).toEqual(report.before.accessKeys);
    expect(report.after.vault?.accessKeyId).toBe(user.oldAccessKeyId);
    await expectInvariants(ctx, user, report);
  });
}
