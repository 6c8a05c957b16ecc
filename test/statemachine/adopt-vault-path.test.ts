import { describe, expect, it } from 'vitest';
import { VAULT_PATH_MAC_TAG, VAULT_PATH_TAG } from '../../functions/commons/pin.js';
import type { SeededUser } from '../../local-stack/provision.js';
import { expectInvariants } from '../support/invariants.js';
import { useLocalStack } from '../support/local-stack.js';
import { HAPPY_PATH } from '../support/paths.js';
import { expectFailure, expectSuccess } from '../support/scenarios.js';
import { userTags, writeCalls } from '../support/tags.js';

// Issue 16: a deployment that allows adoption (allowVaultPathAdopt): the input may serve an
// unpinned user's key at a path nothing proves its consumers read, saying so ("adoptVaultPath").
// The real ASL and handlers on the local stack.
const ctx = useLocalStack({ env: { ROTATOR_ALLOW_VAULT_PATH_ADOPT: 'true' } });

describe('adoptVaultPath where the deployment allows it', () => {
  it('moves an unpinned user to a new empty path: SUCCEEDED, the key there, pinned (signed), the old key retired', async () => {
    const user = await ctx.seed('adopted');
    const adopted: SeededUser = { ...user, vaultPath: `${user.vaultPath}-new` };
    const report = await ctx.rotate(adopted, {
      input: { userName: user.userName, vaultPath: adopted.vaultPath, adoptVaultPath: true },
    });

    expectSuccess(report);
    expect(report.states).toEqual(HAPPY_PATH);
    expect(report.before.vault).toBeNull();
    const served = (await ctx.vaultKey(adopted))?.accessKeyId;
    expect(served).toBeDefined();
    expect(served).not.toBe(user.oldAccessKeyId);
    // The old key went through the waits: deactivated, then deleted.
    expect(report.states.indexOf('DeactivateOld')).toBeLessThan(report.states.indexOf('DeleteOld'));
    expect(report.after.accessKeys.map((k) => k.accessKeyId)).toEqual([served]);
    const tags = await userTags(ctx, user.userName);
    expect(tags[VAULT_PATH_TAG]).toBe(adopted.vaultPath);
    expect(tags[VAULT_PATH_MAC_TAG]).toMatch(/^v1 \S+ [A-Za-z0-9+/]{43}=$/);
    expect(report.logs.join('\n')).toContain('adopting a Vault path nothing proves the consumers read');
    await expectInvariants(ctx, adopted, report);

    // Pinned there now: the next rotation, without adoptVaultPath, follows the pin.
    expectSuccess(
      await ctx.rotate(adopted, { input: { userName: user.userName, vaultPath: adopted.vaultPath } }),
    );
  });

  it('does not override a verified pin: a pinned user with adoptVaultPath and another path is refused, zero writes', async () => {
    const user = await ctx.seed('adopt-pinned');
    expectSuccess(await ctx.rotate(user));
    const elsewhere = `${user.vaultPath}-new`;
    const report = await ctx.rotate(user, {
      input: { userName: user.userName, vaultPath: elsewhere, adoptVaultPath: true },
    });

    expectFailure(report, 'InvalidInputError', 'CreateKeyFailed');
    expect(report.error?.Cause).toContain(`vaultPath ${elsewhere} is not ${user.vaultPath}`);
    expect(writeCalls(report.calls)).toEqual([]);
    expect(report.after).toEqual(report.before);
    expect(await ctx.vaultKey({ ...user, vaultPath: elsewhere })).toBeNull();
  });

  it('does not hand this user’s key to a path serving another user’s key', async () => {
    const other = await ctx.seed('adopt-owner');
    const user = await ctx.seed('adopt-borrower');
    const report = await ctx.rotate(user, {
      input: { userName: user.userName, vaultPath: other.vaultPath, adoptVaultPath: true },
    });

    expectFailure(report, 'InvalidInputError', 'CreateKeyFailed');
    expect(report.error?.Cause).toContain(`'adopt-owner'`);
    expect(writeCalls(report.calls)).toEqual([]);
    expect(await ctx.vaultKey(other)).toMatchObject({ accessKeyId: other.oldAccessKeyId });
  });
});
