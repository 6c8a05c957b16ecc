import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  SFNClient,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import type { FleetSummary } from '../../functions/summarizeFleet.js';
import { resetBeforeEach, sdkError, useHandler } from './support.js';

const { handler } = useHandler<FleetSummary>(() => import('../../functions/summarizeFleet.js'));
const sfn = resetBeforeEach(mockClient(SFNClient));

describe('summarizeFleet', () => {
  it('counts every skipped user from skippedTotal while naming only those listed', async () => {
    const summary = await handler({
      results: [{ userName: 'a', outcome: 'rotated' }],
      skipped: [{ userName: 'b', reason: 'notTagged' }],
      skippedTotal: 2500,
      dryRun: false,
    });
    expect(summary.skipped).toEqual([{ userName: 'b', reason: 'notTagged' }]);
    expect(summary.counts).toEqual({ rotated: 1, planned: 0, failed: 0, alreadyStarted: 0, skipped: 2500 });
    expect(summary.failureCause).toBeUndefined();
  });

  it('names each failed user and its error in the cause, without claiming what the child left', async () => {
    const summary = await handler({
      results: [
        { userName: 'a', outcome: 'failed', error: 'VaultWriteFailed' },
        { userName: 'b', outcome: 'rotated' },
      ],
      skipped: [],
      dryRun: false,
    });
    expect(summary.counts.skipped).toBe(0);
    expect(summary.failureCause).toContain('1 of 2 rotations failed');
    expect(summary.failureCause).toContain('a (VaultWriteFailed)');
    expect(summary.failureCause).not.toContain('unchanged');
  });
});

describe('summarizeFleet by account', () => {
  const OWN = '111111111111';
  const MEMBER = '222222222222';
  const NO_ROLE = '333333333333';

  it('groups users by account, names the accounts not listed, and fails the fleet for them', async () => {
    const summary = await handler({
      results: [
        { accountId: OWN, userName: 'alice', outcome: 'rotated' },
        { accountId: MEMBER, userName: 'alice', outcome: 'rotated' },
        { accountId: MEMBER, userName: 'bob', outcome: 'failed', error: 'VaultWriteFailed' },
        { accountId: MEMBER, userName: 'dave', outcome: 'alreadyStarted' },
      ],
      skipped: [
        { accountId: OWN, userName: 'carol', reason: 'keyYoung' },
        { accountId: MEMBER, userName: 'erin', reason: 'notTagged' },
      ],
      skippedTotal: 7,
      accounts: [
        { accountId: OWN, skippedTotal: 1 },
        { accountId: MEMBER, skippedTotal: 6 },
      ],
      failedAccounts: [
        { accountId: NO_ROLE, error: 'TargetAccountAccessError', cause: 'listCandidates cannot assume …' },
      ],
      dryRun: false,
    });
    // In all, as a fleet over one account reports it.
    expect(summary.rotated).toEqual(['alice', 'alice']);
    expect(summary.skipped).toEqual([
      { userName: 'carol', reason: 'keyYoung' },
      { userName: 'erin', reason: 'notTagged' },
    ]);
    expect(summary.counts).toEqual({ rotated: 2, planned: 0, failed: 1, alreadyStarted: 1, skipped: 7 });
    expect(summary.accounts).toEqual([
      {
        accountId: OWN,
        rotated: ['alice'],
        planned: [],
        failed: [],
        alreadyStarted: [],
        skipped: [{ userName: 'carol', reason: 'keyYoung' }],
        counts: { rotated: 1, planned: 0, failed: 0, alreadyStarted: 0, skipped: 1 },
      },
      {
        accountId: MEMBER,
        rotated: ['alice'],
        planned: [],
        failed: [{ userName: 'bob', error: 'VaultWriteFailed' }],
        alreadyStarted: ['dave'],
        skipped: [{ userName: 'erin', reason: 'notTagged' }],
        counts: { rotated: 1, planned: 0, failed: 1, alreadyStarted: 1, skipped: 6 },
      },
      {
        accountId: NO_ROLE,
        error: 'TargetAccountAccessError',
        rotated: [],
        planned: [],
        failed: [],
        alreadyStarted: [],
        skipped: [],
        counts: { rotated: 0, planned: 0, failed: 0, alreadyStarted: 0, skipped: 0 },
      },
    ]);
    expect(summary.failedAccounts).toEqual([
      { accountId: NO_ROLE, error: 'TargetAccountAccessError', cause: 'listCandidates cannot assume …' },
    ]);
    expect(summary.failureCause).toContain(`1 of 4 rotations failed`);
    expect(summary.failureCause).toContain(`${MEMBER}/bob (VaultWriteFailed)`);
    expect(summary.failureCause).toContain(
      `1 account(s) could not be listed, so none of their users was started: ${NO_ROLE} (TargetAccountAccessError: listCandidates cannot assume …)`,
    );
  });

  it('an account not listed alone fails the fleet, though every listed user was rotated', async () => {
    const summary = await handler({
      results: [{ accountId: OWN, userName: 'alice', outcome: 'rotated' }],
      skipped: [],
      skippedTotal: 0,
      accounts: [{ accountId: OWN, skippedTotal: 0 }],
      failedAccounts: [{ accountId: NO_ROLE, error: 'AwsUnavailableError', cause: 'iam:ListUsers failed' }],
      dryRun: false,
    });
    expect(summary.counts.failed).toBe(0);
    expect(summary.failureCause).toBe(
      `1 account(s) could not be listed, so none of their users was started: ${NO_ROLE} (AwsUnavailableError: iam:ListUsers failed).`,
    );
  });

  it('names users without their account when the fleet is over one account, and reads a fleet from before accounts', async () => {
    const one = await handler({
      results: [{ accountId: OWN, userName: 'a', outcome: 'failed', error: 'VaultWriteFailed' }],
      skipped: [],
      accounts: [{ accountId: OWN, skippedTotal: 0 }],
      failedAccounts: [],
      dryRun: false,
    });
    expect(one.failureCause).toContain(': a (VaultWriteFailed).');
    const before = await handler({
      results: [{ userName: 'a', outcome: 'rotated' }],
      skipped: [{ userName: 'b', reason: 'notTagged' }],
      dryRun: false,
    });
    expect(before).toMatchObject({ rotated: ['a'], accounts: [], failedAccounts: [] });
    expect(before.failureCause).toBeUndefined();
  });
});

describe('summarizeFleet with users listCandidates could not place', () => {
  const OWN = '111111111111';
  const cause =
    "'vendor' has no iam-key-rotator:vault-path tag and vaultPath aws/iam-users/vendor serves no key, not one of its Active keys";

  it('counts them failed and fails the fleet naming each with its error and cause', async () => {
    const summary = await handler({
      results: [{ accountId: OWN, userName: 'alice', outcome: 'rotated' }],
      failedUsers: [{ accountId: OWN, userName: 'vendor', error: 'InvalidInputError', cause }],
      skipped: [],
      accounts: [{ accountId: OWN, skippedTotal: 0 }],
      dryRun: false,
    });
    expect(summary.rotated).toEqual(['alice']);
    expect(summary.failed).toEqual([{ userName: 'vendor', error: 'InvalidInputError' }]);
    expect(summary.counts).toMatchObject({ rotated: 1, failed: 1 });
    expect(summary.accounts[0]?.failed).toEqual([{ userName: 'vendor', error: 'InvalidInputError' }]);
    expect(summary.failureCause).toContain(
      `1 user(s) were not started: vendor (InvalidInputError: ${cause})`,
    );
    // Nothing to describe: no child was started for it.
    expect(sfn.calls()).toHaveLength(0);
  });

  it('counts those listCandidates did not name too, and says how many more there are', async () => {
    const summary = await handler({
      results: [],
      failedUsers: [{ accountId: OWN, userName: 'vendor', error: 'InvalidInputError', cause }],
      failedUsersTotal: 105,
      skipped: [],
      accounts: [{ accountId: OWN, skippedTotal: 0 }],
      dryRun: false,
    });
    expect(summary.counts.failed).toBe(105);
    expect(summary.failureCause).toContain('105 user(s) were not started: vendor (');
    expect(summary.failureCause).toContain('and 104 more.');
  });

  // No child history exists for them: the cause names them apart from the rotations that failed.
  it('does not count them among the rotations that failed (no child history exists)', async () => {
    const summary = await handler({
      results: [{ accountId: OWN, userName: 'alice', outcome: 'rotated' }],
      failedUsers: [{ accountId: OWN, userName: 'vendor', error: 'InvalidInputError', cause }],
      skipped: [],
      accounts: [{ accountId: OWN, skippedTotal: 0 }],
      dryRun: false,
    });
    expect(summary.failureCause).not.toContain('rotations failed');
  });

  it('names them with their account in a fleet over several accounts', async () => {
    const summary = await handler({
      results: [],
      failedUsers: [{ accountId: '222222222222', userName: 'bob', error: 'InvalidInputError', cause: 'x' }],
      skipped: [],
      accounts: [
        { accountId: OWN, skippedTotal: 0 },
        { accountId: '222222222222', skippedTotal: 0 },
      ],
      dryRun: true,
    });
    expect(summary.accounts[1]?.failed).toEqual([{ userName: 'bob', error: 'InvalidInputError' }]);
    expect(summary.failureCause).toContain('222222222222/bob (InvalidInputError: x)');
  });
});

describe('summarizeFleet checks each child found already started', () => {
  const OWN = '111111111111';
  const MACHINE = `arn:aws:states:eu-west-1:${OWN}:stateMachine:iam-key-rotator-dev`;
  const FLEET_STARTED = '2026-01-01T10:00:00.000Z';
  const NAME = 'fleet-0123456789abcdef-alice';
  const CHILD_ARN = `arn:aws:states:eu-west-1:${OWN}:execution:iam-key-rotator-dev:${NAME}`;

  /** The child this fleet would have started for alice, with any of its facts changed. */
  function holder(input: Record<string, unknown> = {}, startDate = new Date('2026-01-01T10:00:05Z')) {
    const out: Partial<DescribeExecutionCommandOutput> = {
      executionArn: CHILD_ARN,
      stateMachineArn: MACHINE,
      status: 'RUNNING',
      startDate,
      input: JSON.stringify({
        userName: 'alice',
        accountId: OWN,
        vaultPath: 'aws/iam-users/alice',
        dryRun: false,
        fleetTaskToken: 'token-of-this-fleet',
        ...input,
      }),
    };
    return out;
  }

  const summarize = (dryRun = false, userDefaults: Record<string, unknown> = {}) =>
    handler({
      results: [
        {
          accountId: OWN,
          userName: 'alice',
          outcome: 'alreadyStarted',
          stateMachineArn: MACHINE,
          executionName: NAME,
          vaultPath: 'aws/iam-users/alice',
          userDefaults,
        },
        { accountId: OWN, userName: 'bob', outcome: dryRun ? 'planned' : 'rotated' },
      ],
      fleetStartedAt: FLEET_STARTED,
      skipped: [],
      accounts: [{ accountId: OWN, skippedTotal: 0 }],
      dryRun,
    });

  it('counts this fleet’s rotation of the same user as already started, describing it by its ARN', async () => {
    sfn.on(DescribeExecutionCommand).resolves(holder());
    const summary = await summarize();
    expect(summary.alreadyStarted).toEqual(['alice']);
    expect(summary.failed).toEqual([]);
    expect(summary.failureCause).toBeUndefined();
    expect(sfn.commandCalls(DescribeExecutionCommand).map((c) => c.args[0].input)).toEqual([
      { executionArn: CHILD_ARN },
    ]);
  });

  it('fails the user with the error of this fleet’s own child that ended FAILED (its signal was lost)', async () => {
    sfn.on(DescribeExecutionCommand).resolves({ ...holder(), status: 'FAILED', error: 'VerificationFailed' });
    const summary = await summarize();
    expect(summary.alreadyStarted).toEqual([]);
    expect(summary.failed).toEqual([{ userName: 'alice', error: 'VerificationFailed' }]);
    expect(summary.failureCause).toContain('alice (VerificationFailed)');
  });

  it('counts this fleet’s child with userDefaults as already started, whatever the order of its input’s keys', async () => {
    const userDefaults = { graceSeconds: 3600, oldKeyInUse: 'wait', deleteInactiveKey: false };
    // As the fleet machine builds it: States.JsonMerge($.userDefaults, {userName, ...}).
    const input = {
      ...holder(),
      input: JSON.stringify({ ...JSON.parse(holder().input ?? '{}'), ...userDefaults }),
    };
    sfn.on(DescribeExecutionCommand).resolves(input);
    const summary = await summarize(false, {
      deleteInactiveKey: false,
      oldKeyInUse: 'wait',
      graceSeconds: 3600,
    });
    expect(summary.alreadyStarted).toEqual(['alice']);
    expect(summary.failed).toEqual([]);
  });

  it('counts a dry run’s own dry-run child as already started', async () => {
    sfn.on(DescribeExecutionCommand).resolves(holder({ dryRun: true }));
    expect((await summarize(true)).alreadyStarted).toEqual(['alice']);
  });

  it.each([
    ['rotates another user', holder({ userName: 'mallory' })],
    ['rotates the user in another account', holder({ accountId: '222222222222' })],
    ['is a dry run where the fleet is not', holder({ dryRun: true })],
    ['carries no fleetTaskToken', holder({ fleetTaskToken: undefined })],
    ['has an input that is not JSON', { ...holder(), input: 'not json' }],
    ['started before the fleet', holder({}, new Date('2026-01-01T09:00:00Z'))],
    ['runs with settings this fleet does not send', holder({ graceSeconds: 2_592_000 })],
    ['serves the key at another path', holder({ vaultPath: 'aws/iam-users/x/alice' })],
  ])('fails the user with ExecutionNameTakenError when the execution holding the name %s', async (_, out) => {
    sfn.on(DescribeExecutionCommand).resolves(out);
    const summary = await summarize();
    expect(summary.alreadyStarted).toEqual([]);
    expect(summary.rotated).toEqual(['bob']);
    expect(summary.failed).toEqual([{ userName: 'alice', error: 'ExecutionNameTakenError' }]);
    expect(summary.counts).toMatchObject({ rotated: 1, failed: 1, alreadyStarted: 0 });
    expect(summary.failureCause).toContain('alice (ExecutionNameTakenError)');
  });

  it('fails the user with ExecutionNameTakenError when a dry-run fleet finds a real rotation under the name', async () => {
    sfn.on(DescribeExecutionCommand).resolves(holder({ dryRun: false }));
    const summary = await summarize(true);
    expect(summary.failed).toEqual([{ userName: 'alice', error: 'ExecutionNameTakenError' }]);
  });

  it('fails the user with ExecutionNameTakenError when the execution cannot be described', async () => {
    sfn.on(DescribeExecutionCommand).rejects(sdkError('AccessDeniedException', 400));
    const summary = await summarize();
    expect(summary.failed).toEqual([{ userName: 'alice', error: 'ExecutionNameTakenError' }]);
    expect(summary.failureCause).toContain('alice (ExecutionNameTakenError)');
  });

  // A holder without accountId rotates the deployment's own account's user; the fleet always writes it.
  it('fails a member-account user whose name is held by an execution without accountId (it rotates the own account’s user)', async () => {
    const MEMBER = '222222222222';
    sfn.on(DescribeExecutionCommand).resolves(holder({ accountId: undefined }));
    const summary = await handler({
      results: [
        {
          accountId: MEMBER,
          userName: 'alice',
          outcome: 'alreadyStarted',
          stateMachineArn: MACHINE,
          executionName: NAME,
        },
      ],
      fleetStartedAt: FLEET_STARTED,
      skipped: [],
      accounts: [
        { accountId: OWN, skippedTotal: 0 },
        { accountId: MEMBER, skippedTotal: 0 },
      ],
      dryRun: false,
    });
    expect(summary.failed).toEqual([{ userName: 'alice', error: 'ExecutionNameTakenError' }]);
  });

  // Both start dates are Step Functions’ own: no clock skew is allowed for.
  it('fails the user when the holder started 30 s before the fleet (both dates are Step Functions’)', async () => {
    sfn.on(DescribeExecutionCommand).resolves(holder({}, new Date('2026-01-01T09:59:30Z')));
    const summary = await summarize();
    expect(summary.failed).toEqual([{ userName: 'alice', error: 'ExecutionNameTakenError' }]);
  });

  it('describes nothing for a result from a fleet started before the check (no machine ARN or name)', async () => {
    const summary = await handler({
      results: [{ accountId: OWN, userName: 'alice', outcome: 'alreadyStarted' }],
      fleetStartedAt: FLEET_STARTED,
      skipped: [],
      dryRun: false,
    });
    expect(summary.alreadyStarted).toEqual(['alice']);
    expect(sfn.calls()).toHaveLength(0);
  });
});
