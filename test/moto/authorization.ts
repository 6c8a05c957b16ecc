import { GetRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { expect, it } from 'vitest';
import { FUNCTIONS, type FunctionName } from '../../deploy/policies.cjs';
import { expectInvariants } from '../support/invariants.js';
import { expectFailure, expectSuccess } from '../support/scenarios.js';
import { type MotoStack, verifyReadRefused } from './support.js';

/** What only moto's authorization can show: who signed each call, and what a wrong role gets. */
export function authorizationCases(ctx: MotoStack): void {
  const identities = () => {
    if (!ctx.identities) throw new Error('the suite runs without authorization');
    return ctx.identities;
  };
  const asFunction = (fn: FunctionName, role: FunctionName) => ({
    ...identities().functionEnvironment,
    [fn]: identities().functionEnvironment[role],
  });

  it('signs each call with the role of the function that makes it', async () => {
    const iam = new IAMClient({ ...ctx.target.aws, maxAttempts: 1 });
    const lastUses = async () => {
      const uses: Partial<Record<FunctionName, number>> = {};
      for (const fn of FUNCTIONS) {
        const roleName = identities().roleArns[fn].split('/').pop();
        const role = await iam.send(new GetRoleCommand({ RoleName: roleName }));
        uses[fn] = role.Role?.RoleLastUsed?.LastUsedDate?.getTime() ?? 0;
      }
      return uses;
    };
    const before = await lastUses();
    // A rotation, and one rolled back after the store.
    expectSuccess(await ctx.rotate(await ctx.seed('authorized-signers')));
    const rolledBack = await ctx.rotate(await ctx.seed('authorized-signers-rollback'), {
      faults: [verifyReadRefused(ctx.target)],
    });
    expectFailure(rolledBack, 'VerificationFailed', 'VerificationFailed');
    // And one CreateKey refuses (a path serving another user's key), so that DiscardLeftovers checks.
    const other = await ctx.seed('authorized-signers-other');
    const misdirected = await ctx.seed('authorized-signers-misdirected');
    const refused = await ctx.rotate(misdirected, {
      input: { userName: misdirected.userName, vaultPath: other.vaultPath },
    });
    expectFailure(refused, 'InvalidInputError', 'CreateKeyFailed');
    const after = await lastUses();
    const used = FUNCTIONS.filter((fn) => (after[fn] ?? 0) > (before[fn] ?? 0));
    // validateInput calls nothing; verifyKey's role signs its Vault login (moto answers the
    // GetCallerIdentity Vault forwards), the new key its own STS call.
    expect(used).toEqual(FUNCTIONS.filter((fn) => fn !== 'validateInput'));
  });

  it("refuses createKey run with deleteOld's role: iam:GetUser named, nothing changed", async () => {
    const user = await ctx.seed('authorized-wrong-create');
    const report = await ctx.rotate(user, { functionEnvironment: asFunction('createKey', 'deleteOld') });
    // IAM cannot tell a refused read from a user outside the path: both are UserNotFoundError.
    expectFailure(report, 'UserNotFoundError', 'CreateKeyFailed');
    expect(report.error?.Cause).toContain('(iam:GetUser: AccessDenied)');
    expect(report.after).toEqual(report.before);
    await expectInvariants(ctx, user, report);
  });

  it("refuses storeInVault run with createKey's role (Encrypt, not Decrypt): rolled back", async () => {
    const user = await ctx.seed('authorized-wrong-store');
    const report = await ctx.rotate(user, { functionEnvironment: asFunction('storeInVault', 'createKey') });
    expectFailure(report, 'VaultWriteFailed', 'VaultWriteFailed');
    const failed = report.history.find((e) => e.type === 'StateFailed' && e.state?.name === 'StoreInVault');
    // moto answers KMS's AccessDenied with IAM's XML body, which the SDK cannot parse as KMS JSON:
    // the code is the SDK's SyntaxError, still a named permanent failure with the action and status.
    expect({ error: failed?.Error, cause: failed?.Cause }).toEqual({
      error: 'AwsRequestError',
      cause: expect.stringContaining('kms:Decrypt failed: SyntaxError (HTTP 403)') as unknown,
    });
    expect(report.after.accessKeys).toEqual(report.before.accessKeys);
    expect(report.after.vault).toEqual(report.before.vault);
    await expectInvariants(ctx, user, report);
  });
}
