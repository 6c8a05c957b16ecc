import { describe, expect, it } from 'vitest';
import type { FleetSummary } from '../../functions/summarizeFleet.js';
import { useHandler } from './support.js';

const { handler } = useHandler<FleetSummary>(() => import('../../functions/summarizeFleet.js'));

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
