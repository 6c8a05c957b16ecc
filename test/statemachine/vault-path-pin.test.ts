import { describe, expect, it } from 'vitest';
import { VAULT_PATH_MAC_TAG, VAULT_PATH_TAG } from '../../functions/commons/pin.js';
import type { Handler } from '../../local-stack/lambda.js';
import { observe, type SeededUser } from '../../local-stack/provision.js';
import { expectInvariants } from '../support/invariants.js';
import { useLocalStack } from '../support/local-stack.js';
import { HAPPY_PATH } from '../support/paths.js';
import { expectFailure, expectSuccess, rotateWithHandlers } from '../support/scenarios.js';
import { userTags as tagsOf, writeCalls } from '../support/tags.js';

// A user's Vault path is pinned by its first verified rotation; another path is a typo unless the
// input moves the key on purpose, where the deployment allows moves (allowVaultPathMove). The real
// ASL and handlers on the local stack.
const ctx = useLocalStack({ env: { ROTATOR_ALLOW_VAULT_PATH_MOVE: 'true' } });

const userTags = (userName: string) => tagsOf(ctx, userName);

/** A user whose key is served at its path, pinned there by one rotation. */
async function pinnedUser(name: string): Promise<SeededUser> {
  const user = await ctx.seed(name);
  expectSuccess(await ctx.rotate(user));
  const served = await ctx.vaultKey(user);
  return { ...user, oldAccessKeyId: served?.accessKeyId ?? null };
}

describe('the Vault path a user is pinned to', () => {
  it('is written by the first rotation, once the new key is verified', async () => {
    const user = await ctx.seed('pin-first');
    expect((await userTags(user.userName))[VAULT_PATH_TAG]).toBeUndefined();
    const report = await ctx.rotate(user);

    expectSuccess(report);
    expect(report.states).toEqual(HAPPY_PATH);
    const tags = await userTags(user.userName);
    expect(tags[VAULT_PATH_TAG]).toBe(user.vaultPath);
    expect(tags[VAULT_PATH_MAC_TAG]).toMatch(/^v1 \S+ [A-Za-z0-9+/]{43}=$/); // signed by verifyKey
    expect(report.calls['iam:TagUser']).toBe(2); // the claim, then the pin (both tags in one call)
    expect(report.calls['kms:GenerateMac']).toBe(2); // the claim's MAC, then the pin's
    await expectInvariants(ctx, user, report);
  });

  it('is not written by a rotation that fails verification', async () => {
    const user = await ctx.seed('pin-unverified');
    const report = await ctx.rotate(user, { faults: ['sts:GetCallerIdentity:InvalidClientTokenIdx50'] });

    expect(report.error?.Error).toBe('VerificationFailed');
    expect((await userTags(user.userName))[VAULT_PATH_TAG]).toBeUndefined();
  });

  it('refuses a typo path with InvalidInputError naming both paths, with zero write calls', async () => {
    const user = await pinnedUser('pin-typo');
    const typo = `${user.vaultPath}-typo`;
    const report = await ctx.rotate(user, { input: { userName: user.userName, vaultPath: typo } });

    expectFailure(report, 'InvalidInputError', 'CreateKeyFailed');
    expect(report.states).toEqual(['ValidateInput', 'CreateKey', 'DiscardLeftovers', 'CreateKeyFailed']);
    expect(report.error?.Cause).toContain(`vaultPath ${typo} is not ${user.vaultPath}`);
    expect(report.error?.Cause).toContain('moveVaultPath');
    expect(writeCalls(report.calls)).toEqual([]);
    expect(report.after).toEqual(report.before);
    expect(await ctx.vaultKey({ ...user, vaultPath: typo })).toBeNull();
    expect((await userTags(user.userName))[VAULT_PATH_TAG]).toBe(user.vaultPath);
  });

  it('an unpinned user whose key is served at the default path, rotated with a typo path, ends FAILED InvalidInputError with zero write calls', async () => {
    // Every user at upgrade: its key at the default path (the template's), no pin tag yet. Issue 16:
    // refused by the adoption rule (the typo path serves none of its Active keys), naming the user,
    // the path, what it serves and the default path.
    const user = await ctx.seed('unpinned-typo');
    const typo = `${user.vaultPath}-typo`;
    const report = await ctx.rotate(user, { input: { userName: user.userName, vaultPath: typo } });

    expectFailure(report, 'InvalidInputError', 'CreateKeyFailed');
    expect(report.states).toEqual(['ValidateInput', 'CreateKey', 'DiscardLeftovers', 'CreateKeyFailed']);
    expect(report.error?.Cause).toContain(
      `'unpinned-typo' has no ${VAULT_PATH_TAG} tag and vaultPath ${typo} serves no key`,
    );
    expect(report.error?.Cause).toContain(`its default is ${user.vaultPath}`);
    expect(report.error?.Cause).toContain('adoptVaultPath');
    expect(writeCalls(report.calls)).toEqual([]);
    expect(report.after).toEqual(report.before);
    expect(await ctx.vaultKey({ ...user, vaultPath: typo })).toBeNull();
    expect((await userTags(user.userName))[VAULT_PATH_TAG]).toBeUndefined();
  });

  it('moves an unpinned user from its default path with moveVaultPath, reporting the move', async () => {
    const user = await ctx.seed('unpinned-move');
    const moved: SeededUser = { ...user, vaultPath: `${user.vaultPath}/v2` };
    const report = await ctx.rotate(user, {
      input: { userName: user.userName, vaultPath: moved.vaultPath, moveVaultPath: true },
    });

    expectSuccess(report);
    const verified = report.history.find((e) => e.type === 'StateExited' && e.state?.name === 'VerifyKey');
    expect(verified?.state?.output).toMatchObject({
      verified: { pinned: true, moved: { from: user.vaultPath, to: moved.vaultPath } },
    });
    expect((await userTags(user.userName))[VAULT_PATH_TAG]).toBe(moved.vaultPath);
    expect(report.after.accessKeys.map((k) => k.accessKeyId)).toEqual([
      (await ctx.vaultKey(moved))?.accessKeyId,
    ]);
    await expectInvariants(ctx, moved, report);
  });

  it('keeps a verified key when the pin cannot be written: SUCCEEDED, the new key in Vault, no rollback', async () => {
    const user = await ctx.seed('pin-refused');
    // TagUser's second call is verifyKey's pin (the first is createKey's claim); refused every time.
    const report = await ctx.rotate(user, { faults: ['iam:TagUser:AccessDeniedx5@2'] });

    expectSuccess(report);
    expect(report.states).toEqual(HAPPY_PATH);
    const newKey = (await ctx.vaultKey(user))?.accessKeyId;
    expect(newKey).not.toBe(user.oldAccessKeyId);
    expect(report.after.accessKeys.map((k) => k.accessKeyId)).toEqual([newKey]);
    const verified = report.history.find((e) => e.type === 'StateExited' && e.state?.name === 'VerifyKey');
    expect(verified?.state?.output).toMatchObject({
      verified: { pinned: false, pinFailure: expect.stringContaining('AccessDenied') },
    });
    expect((await userTags(user.userName))[VAULT_PATH_TAG]).toBeUndefined();
    await expectInvariants(ctx, user, report);
  });

  it('moves the key with moveVaultPath, keeping the old path’s key Active until the new path is verified', async () => {
    const user = await pinnedUser('pin-move');
    const oldKey = user.oldAccessKeyId ?? '';
    const moved: SeededUser = { ...user, vaultPath: `${user.vaultPath}/v2` };
    const seenAtVerify: { status?: string; oldPathServes?: string; pin?: string }[] = [];
    // After VerifyKey succeeded (and before anything else runs): the old path's consumers still work.
    const wrap = (fn: string, handler: Handler): Handler =>
      fn !== 'verifyKey'
        ? handler
        : async (event) => {
            const result = await handler(event);
            const keys = (await observe(ctx.target, user)).accessKeys;
            seenAtVerify.push({
              status: keys.find((k) => k.accessKeyId === oldKey)?.status,
              oldPathServes: (await ctx.vaultKey(user))?.accessKeyId,
              pin: (await userTags(user.userName))[VAULT_PATH_TAG],
            });
            return result;
          };
    const report = await rotateWithHandlers(ctx, user, wrap, {
      input: { userName: user.userName, vaultPath: moved.vaultPath, moveVaultPath: true },
    });

    expectSuccess(report);
    expect(report.states).toEqual(HAPPY_PATH);
    expect(seenAtVerify).toEqual([{ status: 'Active', oldPathServes: oldKey, pin: moved.vaultPath }]);
    const verified = report.history.find((e) => e.type === 'StateExited' && e.state?.name === 'VerifyKey');
    expect(verified?.state?.output).toMatchObject({
      verified: {
        moved: {
          from: user.vaultPath,
          to: moved.vaultPath,
          notice: expect.stringContaining(`consumers of ${user.vaultPath} must read ${moved.vaultPath}`),
        },
      },
    });
    const newKey = (await ctx.vaultKey(moved))?.accessKeyId;
    expect(report.after.accessKeys.map((k) => k.accessKeyId)).toEqual([newKey]);
    expect((await userTags(user.userName))[VAULT_PATH_TAG]).toBe(moved.vaultPath);
    await expectInvariants(ctx, moved, report);

    // The next rotation goes to the new path; the old one is now the typo.
    const back = await ctx.rotate(moved, { input: { userName: user.userName, vaultPath: user.vaultPath } });
    expect(back.error?.Error).toBe('InvalidInputError');
    expectSuccess(
      await ctx.rotate(moved, { input: { userName: user.userName, vaultPath: moved.vaultPath } }),
    );
  });

  it('keeps the old pin when a move fails verification', async () => {
    const user = await pinnedUser('pin-move-unverified');
    const report = await ctx.rotate(user, {
      input: { userName: user.userName, vaultPath: `${user.vaultPath}/v2`, moveVaultPath: true },
      faults: ['sts:GetCallerIdentity:InvalidClientTokenIdx50'],
    });

    expect(report.error?.Error).toBe('VerificationFailed');
    expect((await userTags(user.userName))[VAULT_PATH_TAG]).toBe(user.vaultPath);
    expect(report.after).toEqual(report.before);
  });
});
