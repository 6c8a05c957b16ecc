// Second review of issue 16: the README's threat table cites summarizeFleet.holder.test.ts "fails the
// user when the holder ended FAILED (not rotated)" for the status check; that test's holder carries
// graceSeconds: 1, which the fleet's child never gets, so it is refused for its input
// (ExecutionNameTakenError) and the FAILED branch is never reached. These tests separate the two.
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
const NAME = 'fleet-0123456789abcdef-alice';
const USER_DEFAULTS = { graceSeconds: 3600, oldKeyInUse: 'wait', deleteInactiveKey: false };

function holder(
  status: DescribeExecutionCommandOutput['status'],
  input: Record<string, unknown>,
): Partial<DescribeExecutionCommandOutput> {
  return {
    executionArn: `${MACHINE.replace(':stateMachine:', ':execution:')}:${NAME}`,
    stateMachineArn: MACHINE,
    status,
    startDate: new Date('2026-01-01T10:00:05Z'),
    ...(status === 'RUNNING' ? {} : { error: 'InvalidInputError' }),
    input: JSON.stringify(input),
  };
}

const summarize = (result: Record<string, unknown>) =>
  handler({
    results: [
      {
        accountId: OWN,
        userName: 'alice',
        outcome: 'alreadyStarted',
        stateMachineArn: MACHINE,
        executionName: NAME,
        vaultPath: 'aws/iam-users/alice',
        userDefaults: USER_DEFAULTS,
        ...result,
      },
    ],
    fleetStartedAt: '2026-01-01T10:00:00.000Z',
    skipped: [],
    accounts: [{ accountId: OWN, skippedTotal: 0 }],
    dryRun: false,
  });

// The child's input as the fleet machine builds it: States.JsonMerge($.userDefaults, {userName,
// accountId, vaultPath, dryRun, fleetTaskToken}) — its keys in another order than summarizeFleet's.
const asTheFleetStartsIt = {
  userName: 'alice',
  accountId: OWN,
  vaultPath: 'aws/iam-users/alice',
  dryRun: false,
  fleetTaskToken: 'token',
  deleteInactiveKey: false,
  oldKeyInUse: 'wait',
  graceSeconds: 3600,
};

describe('review2 16: the holder check', () => {
  it('a legitimate child with userDefaults (keys in the machine’s order) counts as already started', async () => {
    sfn.on(DescribeExecutionCommand).resolves(holder('RUNNING', asTheFleetStartsIt));
    const summary = await summarize({});
    expect(summary.alreadyStarted).toEqual(['alice']);
    expect(summary.failed).toEqual([]);
  });

  it('a child of this fleet that ended FAILED fails the user with the child’s own error', async () => {
    sfn.on(DescribeExecutionCommand).resolves(holder('FAILED', asTheFleetStartsIt));
    const summary = await summarize({});
    expect(summary.failed).toEqual([{ userName: 'alice', error: 'InvalidInputError' }]);
  });

  it('the cited holder test’s fixture (graceSeconds: 1) is refused for its input, not for FAILED', async () => {
    sfn
      .on(DescribeExecutionCommand)
      .resolves(
        holder('FAILED', {
          userName: 'alice',
          accountId: OWN,
          dryRun: false,
          fleetTaskToken: 't',
          graceSeconds: 1,
        }),
      );
    const summary = await summarize({ vaultPath: undefined, userDefaults: undefined });
    expect(summary.failed).toEqual([{ userName: 'alice', error: 'ExecutionNameTakenError' }]);
  });
});
