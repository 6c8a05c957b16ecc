import { describe, expect, it } from 'vitest';
import { FleetProgress, fleetTable } from '../../cli/fleet-view.js';
import type { AccountSummary, FleetSummary } from '../../functions/summarizeFleet.js';

const counts = (c: Partial<FleetSummary['counts']>) => ({
  rotated: 0,
  planned: 0,
  failed: 0,
  alreadyStarted: 0,
  skipped: 0,
  deferred: 0,
  ...c,
});

const part = (accountId: string, a: Partial<AccountSummary>): AccountSummary => ({
  accountId,
  rotated: [],
  planned: [],
  failed: [],
  alreadyStarted: [],
  skipped: [],
  deferred: [],
  counts: counts({}),
  ...a,
});

describe('the fleet table (rotate-fleet --wait)', () => {
  it('over one account: the per-user table as before, no account column', () => {
    const summary: FleetSummary = {
      dryRun: false,
      ...part('111111111111', {
        rotated: ['alice'],
        skipped: [{ userName: 'bob', reason: 'keyYoung' }],
        counts: counts({ rotated: 1, skipped: 1 }),
      }),
      accounts: [part('111111111111', {})],
      failedAccounts: [],
      accountCounts: { listed: 1, failed: 0 },
      bucket: 'iam-key-rotator-fleet-test',
      summaryKey: 'runs/run-1/summary.json',
    };
    expect(fleetTable(summary).split('\n')).toEqual([
      'USER   OUTCOME         DETAIL',
      'alice  rotated         ',
      'bob    skipped         keyYoung',
      '',
      'rotated 1, planned 0, failed 0, alreadyStarted 0, skipped 1, deferred 0',
    ]);
  });

  it('over several accounts: an ACCOUNT column, users by account, a line per account, the account not listed', () => {
    const summary: FleetSummary = {
      dryRun: false,
      rotated: ['alice', 'alice'],
      planned: [],
      failed: [{ userName: 'bob', error: 'VaultWriteFailed' }],
      alreadyStarted: [],
      skipped: [],
      deferred: [],
      counts: counts({ rotated: 2, failed: 1 }),
      accounts: [
        part('111111111111', { rotated: ['alice'], counts: counts({ rotated: 1 }) }),
        part('222222222222', {
          rotated: ['alice'],
          failed: [{ userName: 'bob', error: 'VaultWriteFailed' }],
          counts: counts({ rotated: 1, failed: 1 }),
        }),
        part('333333333333', { error: 'TargetAccountAccessError' }),
      ],
      failedAccounts: [{ accountId: '333333333333', error: 'TargetAccountAccessError', cause: '…' }],
      accountCounts: { listed: 2, failed: 1 },
      bucket: 'iam-key-rotator-fleet-test',
      summaryKey: 'runs/run-1/summary.json',
    };
    expect(fleetTable(summary).split('\n')).toEqual([
      'ACCOUNT       USER   OUTCOME         DETAIL',
      '111111111111  alice  rotated         ',
      '222222222222  alice  rotated         ',
      '222222222222  bob    failed          VaultWriteFailed',
      '333333333333         notListed       TargetAccountAccessError',
      '',
      '111111111111: rotated 1, planned 0, failed 0, alreadyStarted 0, skipped 0, deferred 0',
      '222222222222: rotated 1, planned 0, failed 1, alreadyStarted 0, skipped 0, deferred 0',
      '333333333333: not listed (TargetAccountAccessError), none of its users started',
      'all accounts: rotated 2, planned 0, failed 1, alreadyStarted 0, skipped 0, deferred 0',
    ]);
  });

  it('the live line counts the accounts that could not be listed', () => {
    const progress = new FleetProgress();
    progress.add({
      timestamp: new Date(),
      type: 'TaskStateExited',
      id: 1,
      stateExitedEventDetails: {
        name: 'ListCandidates',
        output: JSON.stringify({
          due: [{ userName: 'a' }],
          skipped: [],
          skippedTotal: 3,
          failedAccounts: [{ accountId: '333333333333', error: 'TargetAccountAccessError', cause: '' }],
        }),
      },
    });
    expect(progress.line(4)).toBe('[....] 0/1  rotated 0 · failed 0 · skipped 3 · accounts not listed 1');
  });
});
