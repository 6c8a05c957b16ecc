import type { DescribeMapRunOutput, HistoryEvent } from '@aws-sdk/client-sfn';
import { describe, expect, it } from 'vitest';
import { FleetProgress, fleetSummaryText } from '../../cli/fleet-view.js';
import type { AccountSummary, FleetSummary } from '../../functions/commons/fleet-summary.js';

// Shapes recorded from the local stack's fleet machine (statemachine/rotate-fleet.asl.json) over
// three accounts with maxDuePerAccount 2, and a fourth account without its target role.
const MAP_RUN =
  'arn:aws:states:us-east-1:123456789012:mapRun:iam-key-rotator-fleet-local/RotateDueUsers:3c179699-ffe0-40e7-9fe5-b76c8dcf9e9f';

let id = 0;
const event = (type: string, details: Partial<HistoryEvent>): HistoryEvent =>
  ({ timestamp: new Date(), type, id: ++id, previousEventId: id - 1, ...details }) as HistoryEvent;
const exited = (type: string, name: string, output: string) =>
  event(type, { stateExitedEventDetails: { name, output, outputDetails: { truncated: false } } });
const lambda = (output: string) =>
  event('LambdaFunctionSucceeded', {
    lambdaFunctionSucceededEventDetails: { output, outputDetails: { truncated: false } },
  });

const PLANNED = exited(
  'TaskStateExited',
  'PlanFleet',
  '{"accounts":["123456789012","210000000001","210000000002","210000000009"],"dryRun":false,"maxConcurrency":2,"maxDuePerAccount":2,"userDefaults":{},"bucket":"iam-key-rotator-fleet-local-123456789012","resultsPrefix":"runs/743935e4-dce1-4d24-b6ee-74a749f22d00/results"}',
);
const LISTED = [
  lambda(
    '{"accountId":"123456789012","due":2,"deferred":0,"skipped":2,"failedUsers":0,"dueKey":"runs/743935e4-dce1-4d24-b6ee-74a749f22d00/due/123456789012.jsonl"}',
  ),
  exited('TaskStateExited', 'ListCandidates', '{"accountId":"123456789012","due":2}'),
  lambda(
    '{"accountId":"210000000001","due":2,"deferred":0,"skipped":2,"failedUsers":0,"dueKey":"runs/743935e4-dce1-4d24-b6ee-74a749f22d00/due/210000000001.jsonl"}',
  ),
  exited('TaskStateExited', 'ListCandidates', '{"accountId":"210000000001","due":2}'),
  lambda(
    '{"accountId":"210000000002","due":2,"deferred":1,"skipped":1,"failedUsers":0,"dueKey":"runs/743935e4-dce1-4d24-b6ee-74a749f22d00/due/210000000002.jsonl"}',
  ),
  exited('TaskStateExited', 'ListCandidates', '{"accountId":"210000000002","due":2}'),
  exited(
    'TaskStateExited',
    'ListCandidates',
    '{"accountId":"210000000009","error":{"Error":"TargetAccountAccessError","Cause":"…"}}',
  ),
  exited(
    'PassStateExited',
    'AccountNotListed',
    '{"accountId":"210000000009","error":"TargetAccountAccessError"}',
  ),
];
const MANIFEST = [
  lambda('{"manifestKey":"runs/743935e4-dce1-4d24-b6ee-74a749f22d00/due.manifest","due":6}'),
  exited(
    'TaskStateExited',
    'WriteManifest',
    '{"accounts":["123456789012","210000000001","210000000002","210000000009"],"listed":[{"accountId":"123456789012","due":2},{"accountId":"210000000001","due":2},{"accountId":"210000000002","due":2},{"accountId":"210000000009","error":"TargetAccountAccessError"}],"manifest":{"manifestKey":"runs/743935e4-dce1-4d24-b6ee-74a749f22d00/due.manifest","due":6}}',
  ),
];
const MAP_RUN_STARTED = event('MapRunStarted', { mapRunStartedEventDetails: { mapRunArn: MAP_RUN } });

/** DescribeMapRun's answer while the Map Run ran, as the emulator gave it. */
const RUNNING: DescribeMapRunOutput = {
  mapRunArn: MAP_RUN,
  executionArn:
    'arn:aws:states:us-east-1:123456789012:execution:iam-key-rotator-fleet-local:743935e4-dce1-4d24-b6ee-74a749f22d00',
  status: 'RUNNING',
  startDate: new Date('2026-12-06T22:41:53.120Z'),
  maxConcurrency: 2,
  toleratedFailurePercentage: 100,
  toleratedFailureCount: 0,
  itemCounts: {
    pending: 2,
    running: 2,
    succeeded: 2,
    failed: 0,
    timedOut: 0,
    aborted: 0,
    total: 6,
    resultsWritten: 0,
    failuresNotRedrivable: 0,
    pendingRedrive: 0,
  },
  executionCounts: {
    pending: 0,
    running: 2,
    succeeded: 2,
    failed: 0,
    timedOut: 0,
    aborted: 0,
    total: 4,
    resultsWritten: 0,
    failuresNotRedrivable: 0,
    pendingRedrive: 0,
  },
  redriveCount: 0,
};

const progressAfter = (events: HistoryEvent[]) => {
  const progress = new FleetProgress();
  for (const e of events) progress.add(e);
  return progress;
};

describe('the fleet live line (rotate-fleet --wait, npm start -- --fleet)', () => {
  it('says what the accounts listed hold, from each listCandidates output (the state keeps only the due count)', () => {
    expect(progressAfter([]).line()).toBe('planning: accounts listed 0/? · due 0 · skipped 0 · deferred 0');
    expect(progressAfter([PLANNED]).line()).toBe(
      'listing: accounts listed 0/4 · due 0 · skipped 0 · deferred 0',
    );
    expect(progressAfter([PLANNED, ...LISTED.slice(0, 2)]).line()).toBe(
      'listing: accounts listed 1/4 · due 2 · skipped 2 · deferred 0',
    );
    expect(progressAfter([PLANNED, ...LISTED]).line()).toBe(
      'listing: accounts listed 3/4 (1 not listed) · due 6 · skipped 5 · deferred 1',
    );
    expect(progressAfter([PLANNED, ...LISTED, ...MANIFEST]).line()).toBe(
      'listed: accounts listed 3/4 (1 not listed) · due 6 · skipped 5 · deferred 1',
    );
  });

  it('counts users whose listing failed (none of them started)', () => {
    const progress = progressAfter([
      PLANNED,
      lambda(
        '{"accountId":"123456789012","due":3,"deferred":0,"skipped":0,"failedUsers":2,"failedUserNames":["a","b"]}',
      ),
    ]);
    expect(progress.line()).toBe(
      'listing: accounts listed 1/4 · due 3 · skipped 0 · deferred 0 · failed while listed 2',
    );
  });

  it("shows the Map Run's child workflows from DescribeMapRun once the history names the Map Run", () => {
    const progress = progressAfter([PLANNED, ...LISTED, ...MANIFEST, MAP_RUN_STARTED]);
    expect(progress.mapRunArn).toBe(MAP_RUN);
    expect(progress.line()).toBe(
      'Map Run started: accounts listed 3/4 (1 not listed) · due 6 · skipped 5 · deferred 1',
    );
    progress.mapRun(RUNNING);
    expect(progress.line(12)).toBe(
      '[####........] 2/6 child workflows: succeeded 2 · failed 0 · running 2 · pending 2 | accounts listed 3/4 (1 not listed) · due 6 · skipped 5 · deferred 1',
    );
    progress.add(event('MapRunSucceeded', {}));
    expect(progress.mapRunEnded).toBe(true);
    progress.mapRun({
      mapRunArn: MAP_RUN,
      itemCounts: { ...RUNNING.itemCounts, pending: 0, running: 0, succeeded: 5, failed: 0, aborted: 1 },
    } as DescribeMapRunOutput);
    expect(progress.line(12)).toBe(
      '[############] 6/6 child workflows: succeeded 5 · failed 0 · timed out or aborted 1 · running 0 · pending 0 | accounts listed 3/4 (1 not listed) · due 6 · skipped 5 · deferred 1',
    );
  });

  it("ignores another Map Run's counts, and starts over when the Map state starts a new Map Run", () => {
    const progress = progressAfter([PLANNED, ...LISTED, ...MANIFEST, MAP_RUN_STARTED]);
    progress.mapRun({ ...RUNNING, mapRunArn: `${MAP_RUN}-earlier` });
    expect(progress.items).toBeUndefined();
    progress.mapRun(RUNNING);
    progress.add(event('MapRunFailed', {}));
    progress.add(event('MapRunStarted', { mapRunStartedEventDetails: { mapRunArn: `${MAP_RUN}-retry` } }));
    expect(progress.items).toBeUndefined();
    expect(progress.mapRunEnded).toBe(false);
    expect(progress.mapRunArn).toBe(`${MAP_RUN}-retry`);
  });

  it('keeps the summary Summarize returned (FAILED fleets have no output)', () => {
    const summary = recordedSummary();
    const progress = progressAfter([exited('TaskStateExited', 'Summarize', JSON.stringify(summary))]);
    expect(progress.summary).toEqual(summary);
  });
});

const counts = (c: Partial<FleetSummary['counts']>): FleetSummary['counts'] => ({
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

/** Summarize's output from the recorded run: three accounts listed (one with a user deferred), one not. */
function recordedSummary(): FleetSummary {
  return {
    dryRun: false,
    rotated: ['rec-0', 'rec-9', 'rec-10', 'rec-4', 'rec-2', 'rec-5'],
    planned: [],
    failed: [],
    alreadyStarted: [],
    skipped: [
      { userName: 'rec-3', reason: 'notTagged' },
      { userName: 'rec-6', reason: 'keyYoung' },
      { userName: 'rec-1', reason: 'keyYoung' },
      { userName: 'rec-7', reason: 'notTagged' },
      { userName: 'rec-11', reason: 'notTagged' },
    ],
    deferred: ['rec-8'],
    counts: counts({ rotated: 6, skipped: 5, deferred: 1 }),
    accounts: [
      part('123456789012', {
        rotated: ['rec-0', 'rec-9'],
        skipped: [
          { userName: 'rec-3', reason: 'notTagged' },
          { userName: 'rec-6', reason: 'keyYoung' },
        ],
        counts: counts({ rotated: 2, skipped: 2 }),
      }),
      part('210000000001', {
        rotated: ['rec-10', 'rec-4'],
        skipped: [
          { userName: 'rec-1', reason: 'keyYoung' },
          { userName: 'rec-7', reason: 'notTagged' },
        ],
        counts: counts({ rotated: 2, skipped: 2 }),
      }),
      part('210000000002', {
        rotated: ['rec-2', 'rec-5'],
        skipped: [{ userName: 'rec-11', reason: 'notTagged' }],
        deferred: ['rec-8'],
        counts: counts({ rotated: 2, skipped: 1, deferred: 1 }),
      }),
      part('210000000009', { error: 'TargetAccountAccessError' }),
    ],
    failedAccounts: [
      {
        accountId: '210000000009',
        error: 'TargetAccountAccessError',
        cause:
          'listCandidates cannot assume arn:aws:iam::210000000009:role/iam-key-rotator-target (AccessDenied)',
      },
    ],
    accountCounts: { listed: 3, failed: 1 },
    bucket: 'iam-key-rotator-fleet-local-123456789012',
    summaryKey: 'runs/b86dff61-0c53-404c-85fd-d8ac84b90b8d/summary.json',
    failureCause: '1 account(s) could not be listed, so none of their users was started: 210000000009 (…).',
  };
}

describe('the fleet summary by account (rotate-fleet --wait)', () => {
  it('a row of counts per account with the users it names, the account not listed, the deferred count, where the full summary is', () => {
    expect(fleetSummaryText(recordedSummary()).split('\n')).toEqual([
      'ACCOUNT       ROTATED   FAILED  SKIPPED  DEFERRED',
      '123456789012        2        0        2         0',
      '  rotated   rec-0, rec-9',
      '  skipped   rec-3 (notTagged), rec-6 (keyYoung)',
      '210000000001        2        0        2         0',
      '  rotated   rec-10, rec-4',
      '  skipped   rec-1 (keyYoung), rec-7 (notTagged)',
      '210000000002        2        0        1         1',
      '  rotated   rec-2, rec-5',
      '  skipped   rec-11 (notTagged)',
      '  deferred  rec-8',
      '210000000009  not listed: TargetAccountAccessError (none of its users was started)',
      '',
      '4 accounts (3 listed, 1 not listed): rotated 6 · failed 0 · skipped 5 · deferred 1',
      "deferred: due beyond the account's maxDuePerAccount (the oldest keys went first); the next run takes them",
      'full summary: s3://iam-key-rotator-fleet-local-123456789012/runs/b86dff61-0c53-404c-85fd-d8ac84b90b8d/summary.json',
    ]);
  });

  it("over one account names users from the fleet's own lists, every failed one with its error, the others up to 10 and how many more", () => {
    const rotated = Array.from({ length: 50 }, (_, i) => `u${i}`);
    const failed = [
      { userName: 'bob', error: 'AwsRequestError' },
      { userName: 'carol', error: 'VaultWriteFailed' },
    ];
    const summary: FleetSummary = {
      ...recordedSummary(),
      rotated,
      failed,
      skipped: [],
      deferred: ['old-1'],
      alreadyStarted: ['dave'],
      counts: counts({ rotated: 1200, failed: 2, alreadyStarted: 1, deferred: 200 }),
      accounts: [
        part('123456789012', {
          rotated: rotated.slice(0, 5),
          failed,
          alreadyStarted: ['dave'],
          deferred: ['old-1'],
          counts: counts({ rotated: 1200, failed: 2, alreadyStarted: 1, deferred: 200 }),
        }),
      ],
      failedAccounts: [],
      accountCounts: { listed: 1, failed: 0 },
    };
    expect(fleetSummaryText(summary).split('\n')).toEqual([
      'ACCOUNT       ROTATED   FAILED  SKIPPED  DEFERRED  ALREADY STARTED',
      '123456789012     1200        2        0       200                1',
      '  failed    bob (AwsRequestError), carol (VaultWriteFailed)',
      '  rotated   u0, u1, u2, u3, u4, u5, u6, u7, u8, u9 (+1190 more)',
      '  started   dave',
      '  deferred  old-1 (+199 more)',
      '',
      '1 account (1 listed): rotated 1200 · failed 2 · skipped 0 · deferred 200 · already started 1',
      "deferred: due beyond the account's maxDuePerAccount (the oldest keys went first); the next run takes them",
      'full summary: s3://iam-key-rotator-fleet-local-123456789012/runs/b86dff61-0c53-404c-85fd-d8ac84b90b8d/summary.json',
    ]);
  });

  it('a dry run counts planned users; accounts the output does not name are counted and pointed to', () => {
    const summary: FleetSummary = {
      ...recordedSummary(),
      dryRun: true,
      rotated: [],
      planned: ['p1'],
      skipped: [],
      deferred: [],
      counts: counts({ planned: 30 }),
      accounts: [part('123456789012', { planned: ['p1'], counts: counts({ planned: 3 }) })],
      failedAccounts: [],
      accountCounts: { listed: 12, failed: 0 },
    };
    expect(fleetSummaryText(summary).split('\n')).toEqual([
      'ACCOUNT       PLANNED   FAILED  SKIPPED  DEFERRED',
      '123456789012        3        0        0         0',
      '  planned   p1 (+2 more)',
      '(11 more accounts without failures: in the full summary)',
      '',
      'dry run, 12 accounts (12 listed): planned 30 · failed 0 · skipped 0 · deferred 0',
      'full summary: s3://iam-key-rotator-fleet-local-123456789012/runs/b86dff61-0c53-404c-85fd-d8ac84b90b8d/summary.json',
    ]);
  });
});
