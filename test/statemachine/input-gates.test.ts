import { describe, expect, it } from 'vitest';
import type { Json } from '../../local-stack/lambda.js';
import { useLocalStack } from '../support/local-stack.js';
import { expectFailure, expectSuccess } from '../support/scenarios.js';

// A deployment with the default floors: input may neither move a user's key to another Vault path,
// nor adopt one for an unpinned user, nor have createKey delete an Inactive key. Refused by
// ValidateInput, before any call.
const ctx = useLocalStack();

describe('input a deployment does not allow', () => {
  it.each([
    ['moveVaultPath', 'allowVaultPathMove', { moveVaultPath: true }],
    ['deleteInactiveKey', 'allowDeleteInactiveKey', { deleteInactiveKey: true }],
    ['adoptVaultPath', 'allowVaultPathAdopt', { adoptVaultPath: true }],
  ])(
    '%s ends InputRejected with InvalidInputError naming %s, with no call at all',
    async (_, flag, fields) => {
      const user = await ctx.seed(`gate-${flag}`);
      expectSuccess(await ctx.rotate(user)); // pinned, as a later move would find it
      const before = (await ctx.vaultKey(user))?.accessKeyId;
      const input: Record<string, Json> = { userName: user.userName, ...fields };
      if ('moveVaultPath' in fields || 'adoptVaultPath' in fields) input.vaultPath = `${user.vaultPath}/v2`;
      const report = await ctx.rotate(user, { input });

      expectFailure(report, 'InvalidInputError', 'InputRejected');
      expect(report.states).toEqual(['ValidateInput', 'InputRejected']);
      expect(report.error?.Cause).toContain(`this deployment's ${flag} is false`);
      expect(report.calls).toEqual({});
      expect(report.after).toEqual(report.before);
      expect((await ctx.vaultKey(user))?.accessKeyId).toBe(before);
    },
  );

  it('adoptVaultPath for an unpinned user at its default path ends InputRejected, no call, the key and Vault as they were', async () => {
    const user = await ctx.seed('gate-adopt-unpinned');
    const report = await ctx.rotate(user, {
      input: { userName: user.userName, vaultPath: `${user.vaultPath}-new`, adoptVaultPath: true },
    });

    expectFailure(report, 'InvalidInputError', 'InputRejected');
    expect(report.states).toEqual(['ValidateInput', 'InputRejected']);
    expect(report.error?.Cause).toContain("this deployment's allowVaultPathAdopt is false");
    expect(report.calls).toEqual({});
    expect(report.after).toEqual(report.before);
    expect(await ctx.vaultKey({ ...user, vaultPath: `${user.vaultPath}-new` })).toBeNull();
  });
});
