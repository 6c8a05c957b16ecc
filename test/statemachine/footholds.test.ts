// What the footholds of the threat table (docs/security.md) cannot do that a first review missed: a user with
// no Active key re-keyed to a path the starter picks; a tamper alert raised by naming the phrase.
import { UpdateAccessKeyCommand } from '@aws-sdk/client-iam';
import { describe, expect, it } from 'vitest';
import { VAULT_PATH_MAC_TAG, VAULT_PATH_TAG } from '../../functions/commons/pin.js';
import { matchesPattern } from '../support/event-pattern.js';
import { useLocalStack } from '../support/local-stack.js';
import { rulePattern, statusChangeEvent } from '../support/status-change.js';
import { adminIam, userTags, writeCalls } from '../support/tags.js';

const ctx = useLocalStack();

const PREFIX = 'aws/iam-users/';

describe('foothold 1 (may start an execution): a user with no Active key', () => {
  // "Nothing to lose" is about availability: whoever reads the path a first key goes to holds a
  // working key, and the signed pin would send every later key there too.
  it('an unpinned user whose keys were all deactivated (an incident responder) is not re-keyed to a path the starter picks', async () => {
    const user = await ctx.seed('review2-disabled');
    await adminIam(ctx).send(
      new UpdateAccessKeyCommand({
        UserName: user.userName,
        AccessKeyId: user.oldAccessKeyId ?? '',
        Status: 'Inactive',
      }),
    );
    const picked = `${PREFIX}starter-reads-this/${user.userName}`;
    const report = await ctx.rotate(
      { ...user, vaultPath: picked },
      { input: { userName: user.userName, vaultPath: picked } },
    );

    // What docs/security.md claims: refused before any write, nothing at the picked path.
    const served = await ctx.vaultKey({ ...user, vaultPath: picked });
    const tags = await userTags(ctx, user.userName);
    expect({
      status: report.status,
      writes: writeCalls(report.calls).length,
      servedAtPicked: served !== null,
      pinnedToPicked: tags[VAULT_PATH_TAG] === picked && tags[VAULT_PATH_MAC_TAG] !== undefined,
    }).toEqual({ status: 'FAILED', writes: 0, servedAtPicked: false, pinnedToPicked: false });
  });
});

describe('the tamper alert (PinTamperRule)', () => {
  // The rule matches a FAILED execution whose cause contains the phrase; ValidateInput names unknown
  // input fields in its cause, so a field name must not be able to spell it.
  it('does not fire for an execution whose input merely names the phrase', async () => {
    const user = await ctx.seed('review2-false-alarm');
    const report = await ctx.rotate(user, {
      input: { userName: user.userName, 'x changed outside the rotator': 1 },
    });
    expect(report.status).toBe('FAILED');
    expect(report.states).toEqual(['ValidateInput', 'InputRejected']);
    expect(report.calls).toEqual({});

    const machineArn = ctx.stack.stateMachineArn;
    const event = statusChangeEvent(
      report,
      `${machineArn.replace(':stateMachine:', ':execution:')}:false-alarm`,
    );
    const pattern = await rulePattern('PinTamperRule', machineArn);
    expect(matchesPattern(pattern, event)).toBe(false);
  });
});
