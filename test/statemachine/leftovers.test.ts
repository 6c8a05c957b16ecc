import { CreateAccessKeyCommand } from '@aws-sdk/client-iam';
import { describe, expect, it } from 'vitest';
import type { Handler } from '../../local-stack/lambda.js';
import type { SeededUser } from '../../local-stack/provision.js';
import { loadHandlers } from '../../local-stack/state-machine.js';
import { expectInvariants } from '../support/invariants.js';
import { restoreConsoleAfterEach } from '../support/console.js';
import { useLocalStack } from '../support/local-stack.js';
import { CLEANUP_FAILED } from '../support/paths.js';
import { adminIam } from '../support/tags.js';
import { expectFailure, losingResponses, type Report, rotateWithHandlers } from '../support/scenarios.js';

// CreateKey's failure path on the real ASL: DiscardLeftovers deletes what CreateKey's attempts
// created and left, by the proof a retry uses (this execution's verified claim), and nothing else.
const ctx = useLocalStack();

restoreConsoleAfterEach();

const CLEANED = ['ValidateInput', 'CreateKey', 'DiscardLeftovers', 'CreateKeyFailed'];
/** Every CreateKey attempt (6: the first and 5 retries) creates its key and loses the response. */
const EVERY_CREATE_LOST = 'iam:CreateAccessKey:after-commitx10';

const ids = (keys: { accessKeyId: string }[]) => keys.map((k) => k.accessKeyId);

/** What each DiscardLeftovers run returned, in order. */
function cleanups(report: Report): unknown[] {
  return report.history
    .filter((e) => e.type === 'StateExited' && e.state?.name === 'DiscardLeftovers')
    .map((e) => (e.state?.output as { leftovers?: unknown } | undefined)?.leftovers);
}

describe('DiscardLeftovers: CreateKey failed after one of its attempts created a key', () => {
  it('deletes the key the last attempt left: FAILED with CreateKey’s error, the user keeps exactly its keys, Vault untouched', async () => {
    const user = await ctx.seed('leftover-last-attempt');
    const report = await ctx.rotate(user, { faults: [EVERY_CREATE_LOST] });

    expectFailure(report, 'AwsUnavailableError', 'CreateKeyFailed');
    expect(report.error?.Cause).toContain('iam:CreateAccessKey');
    expect(report.error?.Cause).not.toContain('DiscardLeftovers could not');
    expect(report.states).toEqual(CLEANED);
    expect(report.calls['iam:CreateAccessKey']).toBe(6);
    // Five attempts' keys removed by the next attempt, the last one's by DiscardLeftovers.
    expect(report.calls['iam:DeleteAccessKey']).toBe(6);
    const [cleanup] = cleanups(report) as [{ deletedAccessKeyIds: string[] }];
    expect(cleanup.deletedAccessKeyIds).toHaveLength(1);
    expect(ids(report.before.accessKeys)).not.toContain(cleanup.deletedAccessKeyIds[0]);
    expect(report.after.accessKeys).toEqual(report.before.accessKeys);
    expect(report.after.vault).toEqual(report.before.vault);
    await expectInvariants(ctx, user, report);
  });

  it('never deletes a key that existed before: a user with two keys keeps both', async () => {
    const user = await ctx.seed('leftover-two-keys', { keys: 2 });
    // Two keys: CreateKey refuses before it creates anything, and DiscardLeftovers finds no claim.
    const report = await ctx.rotate(user, { faults: [EVERY_CREATE_LOST] });

    expectFailure(report, 'TooManyAccessKeysError', 'CreateKeyFailed');
    expect(report.states).toEqual(CLEANED);
    expect(cleanups(report)).toEqual([{ deletedAccessKeyIds: [] }]);
    expect(report.calls['iam:DeleteAccessKey']).toBeUndefined();
    expect(report.after).toEqual(report.before);
  });

  it('never deletes a key that existed before the execution, even one a failed execution left', async () => {
    const user = await ctx.seed('leftover-earlier-execution');
    const first = await ctx.rotate(user, {
      executionName: 'leftover-first',
      faults: [EVERY_CREATE_LOST, 'iam:DeleteAccessKey:ServiceUnavailablex1000'],
    });
    expectFailure(first, 'AwsUnavailableError', 'CreateKeyFailed');
    const left = first.after.accessKeys.filter((k) => k.accessKeyId !== user.oldAccessKeyId);
    expect(left).toHaveLength(1);

    const second = await ctx.rotate(user, { executionName: 'leftover-second' });
    // The first execution's claim is fresh and its key is in no Vault: not the second's to delete.
    expectFailure(second, 'ConcurrentRotationError', 'CreateKeyFailed');
    expect(second.error?.Cause).toContain(left[0]?.accessKeyId);
    expect(second.states).toEqual(CLEANED);
    expect(cleanups(second)).toEqual([{ deletedAccessKeyIds: [] }]);
    expect(second.after).toEqual(second.before);
  });

  it('a run twice (its response lost) is harmless: the second run finds the key gone', async () => {
    const user = await ctx.seed('leftover-twice');
    const real = await loadHandlers();
    const lossy = losingResponses(real.discardLeftovers as Handler);
    const report = await rotateWithHandlers(
      ctx,
      user,
      (fn, handler) => (fn === 'discardLeftovers' ? lossy : handler),
      { faults: [EVERY_CREATE_LOST] },
    );

    expect(lossy.lost()).toBe(1);
    expectFailure(report, 'AwsUnavailableError', 'CreateKeyFailed');
    expect(report.error?.Cause).not.toContain('DiscardLeftovers could not');
    // The retry's own output: nothing left to delete.
    expect(cleanups(report)).toEqual([{ deletedAccessKeyIds: [] }]);
    expect(report.after.accessKeys).toEqual(report.before.accessKeys);
    await expectInvariants(ctx, user, report);
  });

  it('when the cleanup fails too, still fails with CreateKey’s error, and the cause says a key may remain', async () => {
    const user = await ctx.seed('leftover-cleanup-fails');
    const report = await ctx.rotate(user, {
      faults: [EVERY_CREATE_LOST, 'iam:DeleteAccessKey:ServiceUnavailablex1000'],
    });

    expectFailure(report, 'AwsUnavailableError', 'CreateKeyFailed');
    expect(report.states).toEqual(CLEANUP_FAILED);
    const created = createKeyCause(report);
    expect(report.error?.Cause.startsWith(created)).toBe(true);
    expect(report.error?.Cause).toContain(
      'DiscardLeftovers could not check for keys this execution created (AwsUnavailableError: ',
    );
    expect(report.error?.Cause).toContain('it is Active and not in Vault');
    // The key the first attempt created, not deleted by any attempt nor the cleanup: named by the cause's advice.
    const extra = report.after.accessKeys.filter(
      (k) => !ids(report.before.accessKeys).includes(k.accessKeyId),
    );
    expect(extra).toHaveLength(1);
    expect(report.after.vault).toEqual(report.before.vault);
  });

  it('a failure under another execution’s fresh claim (ConcurrentRotationError) deletes nothing', async () => {
    const user = await ctx.seed('leftover-concurrent');
    const real = await loadHandlers();
    let refused: Report | undefined;
    // The owner holds its new key, not yet in Vault, while the second execution runs to its end.
    const storeLate: Handler = async (event) => {
      refused ??= await ctx.rotate(user, { executionName: 'leftover-refused' });
      return (real.storeInVault as Handler)(event);
    };
    const owner = await ctx.rotate(user, {
      executionName: 'leftover-owner',
      handlers: { ...real, storeInVault: storeLate },
    });

    expect(refused).toBeDefined();
    const late = refused as Report;
    expectFailure(late, 'ConcurrentRotationError', 'CreateKeyFailed');
    expect(late.states).toEqual(CLEANED);
    expect(cleanups(late)).toEqual([{ deletedAccessKeyIds: [] }]);
    expect(late.calls['iam:DeleteAccessKey']).toBeUndefined();
    // The owner's key survived the refused execution's cleanup: the owner stored, verified and kept it.
    expect(owner.status).toBe('SUCCEEDED');
    await expectInvariants(ctx, user, owner);
  });

  it('never deletes a key an operator made by hand during the rotation (CreateKey: a key appeared)', async () => {
    const user = await ctx.seed('leftover-hand-made');
    // The operator's key appears after CreateKey's claim; CreateKey's own create then hits IAM's limit.
    const { report, handMade } = await withKeyMadeByHand(user, 1, ['iam:CreateAccessKey:LimitExceeded']);

    expectFailure(report, 'ConcurrentRotationError', 'CreateKeyFailed');
    expect(report.error?.Cause).toContain('appeared while this execution was creating one');
    expect(handMade).toBeDefined();
    expect(cleanups(report)).toEqual([{ deletedAccessKeyIds: [] }]);
    expect(report.calls['iam:DeleteAccessKey']).toBeUndefined();
    expect(report.after.accessKeys).toEqual([
      ...report.before.accessKeys,
      expect.objectContaining({ accessKeyId: handMade, status: 'Active' }),
    ]);
  });

  it('keeps both keys when one made by hand joins the last attempt’s: LeftoverUnprovenError in the cause', async () => {
    const user = await ctx.seed('leftover-ambiguous', { keys: 0, storeInVault: false });
    // After the last attempt's claim and key: nobody can tell the two apart. Exactly CreateKey's six
    // attempts lose their responses; the operator's call does not.
    const { report, handMade } = await withKeyMadeByHand(user, 6, ['iam:CreateAccessKey:after-commitx6']);

    expectFailure(report, 'AwsUnavailableError', 'CreateKeyFailed');
    expect(report.states).toEqual(CLEANUP_FAILED);
    expect(report.error?.Cause).toContain('(LeftoverUnprovenError: ');
    expect(report.error?.Cause).toContain('and it creates at most one: none was deleted');
    expect(report.error?.Cause).toContain(handMade);
    expect(report.after.accessKeys).toHaveLength(2);
    expect(ids(report.after.accessKeys)).toContain(handMade);
    expect(report.after.vault).toEqual(report.before.vault);
  });

  it('changes nothing for a dry run', async () => {
    const other = await ctx.seed('leftover-dry-owner');
    const user = await ctx.seed('leftover-dry');
    const report = await ctx.rotate(user, {
      input: { userName: user.userName, vaultPath: other.vaultPath, dryRun: true },
    });

    expectFailure(report, 'InvalidInputError', 'CreateKeyFailed');
    expect(report.states).toEqual(CLEANED);
    expect(cleanups(report)).toEqual([{ deletedAccessKeyIds: [] }]);
    expect(report.after).toEqual(report.before);
  });
});

/** A rotation in which an operator makes a key by hand once CreateKey's `attempt`th attempt has ended. */
async function withKeyMadeByHand(user: SeededUser, attempt: number, faults: string[]) {
  let attempts = 0;
  let handMade: string | undefined;
  const report = await rotateWithHandlers(
    ctx,
    user,
    (fn, handler) =>
      fn === 'createKey'
        ? async (event) => {
            try {
              return await handler(event);
            } finally {
              if (++attempts === attempt) {
                const made = await adminIam(ctx).send(
                  new CreateAccessKeyCommand({ UserName: user.userName }),
                );
                handMade = made.AccessKey?.AccessKeyId;
              }
            }
          }
        : handler,
    { faults },
  );
  return { report, handMade };
}

/** CreateKey's own error cause, as its Catch recorded it. */
function createKeyCause(report: Report): string {
  const entered = report.history.find(
    (e) => e.type === 'StateEntered' && e.state?.name === 'DiscardLeftovers',
  );
  return (entered?.state?.input as { error?: { Cause?: string } } | undefined)?.error?.Cause ?? '';
}
