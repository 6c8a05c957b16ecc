import { VAULT_PATH_TAG } from '../../functions/commons/pin.js';
import { describe, expect, it } from 'vitest';
import { expectInvariants } from '../support/invariants.js';
import { useLocalStack } from '../support/local-stack.js';
import { CLEANUP_FAILED, HAPPY_PATH } from '../support/paths.js';
import { tagUser, writeCalls } from '../support/tags.js';

// The execution's account on the local stack (one emulated account: rotations in member accounts
// come with the emulator's accounts). A deployment with the per-account Vault layout that allows
// one other account.
const MEMBER = '222222222222';
const ctx = useLocalStack({
  env: { VAULT_PATH_TEMPLATE: '{prefix}{accountId}/{userName}', ROTATOR_ALLOWED_ACCOUNT_IDS: MEMBER },
});

const iamCalls = (calls: Record<string, number>) => Object.keys(calls).filter((c) => c.startsWith('iam:'));

/** A user of the own account whose key the per-account layout serves at <prefix><account>/<user>. */
async function seedAtAccountPath(name: string) {
  // Stored there: since issue 16 a user with an Active key that no path serves is not rotated.
  return ctx.seed(name, { vaultPath: `${ctx.target.pathPrefix}${ctx.stack.aws.accountId}/${name}` });
}

describe('the execution’s account', () => {
  it.each([
    ['without accountId', false],
    ['with the own accountId', true],
  ])(
    'rotates an execution %s in the own account, at its account’s Vault path, without assuming any role',
    async (_what, named) => {
      const user = await seedAtAccountPath(`own-account-${String(named)}`);
      const input = named ? { userName: user.userName, accountId: ctx.stack.aws.accountId } : undefined;
      const report = await ctx.rotate(user, input ? { input } : {});

      expect(report.status).toBe('SUCCEEDED');
      expect(report.states).toEqual(HAPPY_PATH);
      const newKey = report.after.vault?.accessKeyId;
      expect(newKey).toBeDefined();
      expect(report.after.accessKeys.map((k) => k.accessKeyId)).toEqual([newKey]);
      expect(report.calls['sts:AssumeRole']).toBeUndefined();
      await expectInvariants(ctx, user, report);
    },
  );

  it('refuses an account the deployment does not allow with InvalidInputError, before any call', async () => {
    const user = await ctx.seed('not-allowed');
    const report = await ctx.rotate(user, { input: { userName: user.userName, accountId: '999999999999' } });

    expect(report.status).toBe('FAILED');
    expect(report.error?.Error).toBe('InvalidInputError');
    expect(report.error?.Cause).toContain(
      'accountId: 999999999999 is not an account this deployment may rotate in',
    );
    expect(report.states).toEqual(['ValidateInput', 'InputRejected']);
    expect(report.calls).toEqual({});
    expect(report.after).toEqual(report.before);
  });

  it('fails with TargetAccountAccessError, not retried, before any IAM call when the target role cannot be assumed', async () => {
    const user = await ctx.seed('refused-account');
    const report = await ctx.rotate(user, {
      input: { userName: user.userName, accountId: MEMBER },
      faults: ['sts:AssumeRole:AccessDenied'],
    });

    expect(report.status).toBe('FAILED');
    expect(report.error?.Error).toBe('TargetAccountAccessError');
    expect(report.error?.Cause).toContain(`arn:aws:iam::${MEMBER}:role/iam-key-rotator-target`);
    // CreateKey's refusal is not retried; DiscardLeftovers is refused too (no target role there) and says so.
    expect(report.states).toEqual(CLEANUP_FAILED);
    expect(report.error?.Cause).toContain('discardLeftovers cannot assume');
    expect(report.calls['sts:AssumeRole']).toBe(2);
    expect(iamCalls(report.calls)).toEqual([]);
    expect(report.after).toEqual(report.before);
  });

  it('refuses a bare account folder (aws/iam-users/222222222222) as an own-account vaultPath at ValidateInput, before any call', async () => {
    const user = await seedAtAccountPath('bare-folder-input');
    const folder = `${ctx.target.pathPrefix}${MEMBER}`;
    const report = await ctx.rotate(user, { input: { userName: user.userName, vaultPath: folder } });

    expect(report.status).toBe('FAILED');
    expect(report.error?.Error).toBe('InvalidInputError');
    expect(report.error?.Cause).toContain(
      `invalid execution input: vaultPath: '${folder}' is in account ${MEMBER}'s folder`,
    );
    expect(report.states).toEqual(['ValidateInput', 'InputRejected']);
    expect(report.calls).toEqual({});
    expect(report.after).toEqual(report.before);
  });

  it('refuses a bare account folder as an (unsigned) pin tag at CreateKey, with zero writes', async () => {
    const user = await seedAtAccountPath('bare-folder-pin');
    const folder = `${ctx.target.pathPrefix}${MEMBER}`;
    await tagUser(ctx, user.userName, { [VAULT_PATH_TAG]: folder });
    const report = await ctx.rotate(user);

    expect(report.status).toBe('FAILED');
    expect(report.error?.Error).toBe('InvalidInputError');
    expect(report.error?.Cause).toContain(
      `user tag ${VAULT_PATH_TAG} of '${user.userName}' names '${folder}': '${folder}' is in account ${MEMBER}'s folder`,
    );
    expect(report.states).toEqual(['ValidateInput', 'CreateKey', 'DiscardLeftovers', 'CreateKeyFailed']);
    expect(writeCalls(report.calls)).toEqual([]);
    expect(report.after).toEqual(report.before);
    expect(await ctx.vaultKey({ ...user, vaultPath: folder })).toBeNull();
  });
});
