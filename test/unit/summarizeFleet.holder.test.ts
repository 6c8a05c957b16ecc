// Review of issue 16: the fleet's "already started" check against an execution someone else started
// under a child's predicted name.
import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  SFNClient,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import type { FleetSummary } from '../../functions/summarizeFleet.js';
import { resetBeforeEach, useHandler } from './support.js';

const { handler } = useHandler<FleetSummary>(() => import('../../functions/summarizeFleet.js'));
const sfn = resetBeforeEach(mockClient(SFNClient));

const OWN = '111111111111';
const MACHINE = `arn:aws:states:eu-west-1:${OWN}:stateMachine:iam-key-rotator-dev`;
const FLEET_STARTED = '2026-01-01T10:00:00.000Z';
const NAME = 'fleet-0123456789abcdef-alice';
const CHILD_ARN = `arn:aws:states:eu-west-1:${OWN}:execution:iam-key-rotator-dev:${NAME}`;

/**
 * An execution someone allowed states:StartExecution started under the child's predicted name once
 * the fleet had started (the name is derived from the fleet's ARN, which execution history shows):
 * same user, same account, same dryRun, and a made-up fleetTaskToken, so every check passes.
 */
function frontRunner(
  status: DescribeExecutionCommandOutput['status'],
  input: Record<string, unknown> = {},
): Partial<DescribeExecutionCommandOutput> {
  return {
    executionArn: CHILD_ARN,
    stateMachineArn: MACHINE,
    status,
    startDate: new Date('2026-01-01T10:00:05Z'),
    ...(status === 'FAILED'
      ? { stopDate: new Date('2026-01-01T10:00:06Z'), error: 'InvalidInputError' }
      : {}),
    input: JSON.stringify({
      userName: 'alice',
      accountId: OWN,
      dryRun: false,
      fleetTaskToken: 'not-a-token-of-this-fleet',
      ...input,
    }),
  };
}

const summarize = () =>
  handler({
    results: [
      {
        accountId: OWN,
        userName: 'alice',
        outcome: 'alreadyStarted',
        stateMachineArn: MACHINE,
        executionName: NAME,
      },
      { accountId: OWN, userName: 'bob', outcome: 'rotated' },
    ],
    fleetStartedAt: FLEET_STARTED,
    skipped: [],
    accounts: [{ accountId: OWN, skippedTotal: 0 }],
    dryRun: false,
  });

describe('review 16: an execution holding a child’s predicted name', () => {
  // A holder that ended FAILED/ABORTED/TIMED_OUT did not rotate the user.
  it('fails the user when the holder ended FAILED (not rotated)', async () => {
    sfn.on(DescribeExecutionCommand).resolves(frontRunner('FAILED', { graceSeconds: 1 }));
    const summary = await summarize();
    expect(summary.alreadyStarted).toEqual([]);
    expect(summary.failed.map((f) => f.userName)).toEqual(['alice']);
    expect(summary.failureCause).toContain('alice');
  });

  // The holder's input is not the one this fleet sends (its vaultPath, its userDefaults),
  // so it is not "this fleet's rotation of the user": 30 days' grace, another path, oldKeyInUse fail.
  it('fails the user when the holder runs with other settings than the fleet’s child would', async () => {
    sfn.on(DescribeExecutionCommand).resolves(
      frontRunner('RUNNING', {
        graceSeconds: 2_592_000,
        oldKeyInUse: 'fail',
        vaultPath: 'aws/iam-users/x/alice',
      }),
    );
    const summary = await summarize();
    expect(summary.alreadyStarted).toEqual([]);
    expect(summary.failed).toEqual([{ userName: 'alice', error: 'ExecutionNameTakenError' }]);
  });
});
