import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  SFNClient,
} from '@aws-sdk/client-sfn';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, describe, expect, it } from 'vitest';
import type { SkipReason } from '../../functions/commons/fleet-input.js';
import { runKeys } from '../../functions/commons/fleet-store.js';
import type { FleetSummary } from '../../functions/summarizeFleet.js';
import {
  EXECUTION,
  FLEET_BUCKET,
  FLEET_BUCKET_ENV,
  FLEET_KEY_ARN,
  publishedMetrics,
  rejectionOf,
  resetBeforeEach,
  sdkError,
  useFakeS3,
  useHandler,
} from './support.js';

const { handler, deployment } = useHandler<FleetSummary>(() => import('../../functions/summarizeFleet.js'));
const sfn = resetBeforeEach(mockClient(SFNClient));
const { s3, bucket } = useFakeS3();
const KEYS = runKeys(EXECUTION);

beforeAll(() => {
  Object.assign(process.env, FLEET_BUCKET_ENV);
});
const MAP_RUN = 'arn:aws:states:eu-west-1:123456789012:mapRun:iam-key-rotator-fleet-dev/RotateDueUsers:0b5e';
const WRITER_MANIFEST = `${KEYS.results}/0b5e/manifest.json`;
const FLEET_STARTED = '2026-01-01T10:00:00.000Z';

/** What a child workflow ends with (its UserSignalled, AlreadyStarted or UserFailed Pass output). */
type ChildOutput =
  | {
      userName: string;
      outcome: 'rotated' | 'planned';
      /** Whom the answer named; the child's own user unless a test says otherwise. */
      answeredFor?: { accountId?: string; userName?: string };
    }
  | { userName: string; outcome: 'failed'; error: string }
  | {
      userName: string;
      outcome: 'alreadyStarted';
      stateMachineArn: string;
      executionName: string;
      vaultPath: string;
      userDefaults: Record<string, unknown>;
    };

/** One account of a fleet run, as listCandidates recorded it and its children ended. */
interface AccountFixture {
  accountId: string;
  /** Not listed: the error ListAccounts' Catch recorded; `cause` is what listCandidates recorded, if anything. */
  error?: string;
  cause?: string;
  skipped?: { userName: string; reason: SkipReason }[];
  failedUsers?: { userName: string; error: string; cause: string }[];
  deferred?: string[];
  children?: ChildOutput[];
}

/** A result file entry, as Step Functions' ResultWriter writes a child workflow. */
function entry(accountId: string, userName: string, status: string, extra: Record<string, unknown>) {
  return {
    ExecutionArn: `arn:aws:states:eu-west-1:123456789012:execution:iam-key-rotator-fleet-dev/RotateDueUsers:${userName}`,
    Input: JSON.stringify({
      user: {
        accountId,
        userName,
        vaultPath: `aws/iam-users/${userName}`,
        executionName: `fleet-x-${userName}`,
      },
      dryRun: false,
      userDefaults: {},
    }),
    InputDetails: { Included: true },
    Name: userName,
    StartDate: '2026-01-01T10:00:01.000Z',
    StateMachineArn:
      'arn:aws:states:eu-west-1:123456789012:stateMachine:iam-key-rotator-fleet-dev/RotateDueUsers',
    Status: status,
    StopDate: '2026-01-01T10:00:09.000Z',
    ...extra,
  };
}

/**
 * Writes a fleet run to the fake bucket as listCandidates and the Distributed Map would (each
 * account's record, ResultWriter's manifest.json and result files), and summarizes it.
 */
async function summarize(
  accounts: AccountFixture[],
  options: {
    dryRun?: boolean;
    failedEntries?: Record<string, unknown>[];
    env?: Record<string, string>;
    /** Children as the definition before answeredFor wrote them. */
    legacyChildren?: boolean;
  } = {},
): Promise<FleetSummary> {
  const succeeded = accounts.flatMap((a) =>
    (a.children ?? []).map((child) =>
      entry(a.accountId, child.userName, 'SUCCEEDED', {
        Output: JSON.stringify({
          accountId: a.accountId,
          ...((child.outcome === 'rotated' || child.outcome === 'planned') && !options.legacyChildren
            ? { answeredFor: { accountId: a.accountId, userName: child.userName } }
            : {}),
          ...child,
        }),
        OutputDetails: { Included: true },
      }),
    ),
  );
  const failed = options.failedEntries ?? [];
  for (const a of accounts) {
    if (a.error !== undefined) {
      if (a.cause !== undefined)
        bucket.seed(KEYS.account(a.accountId), { accountId: a.accountId, error: a.error, cause: a.cause });
      continue;
    }
    const withAccount = <T>(items: T[] | undefined) =>
      (items ?? []).map((item) => ({ accountId: a.accountId, ...item }));
    bucket.seed(KEYS.account(a.accountId), {
      accountId: a.accountId,
      due: (a.children ?? []).length,
      maxDuePerAccount: 1000,
      skipped: withAccount(a.skipped),
      failedUsers: withAccount(a.failedUsers),
      deferred: (a.deferred ?? []).map((userName) => ({ accountId: a.accountId, userName, keyAgeDays: 120 })),
    });
  }
  const due = succeeded.length + failed.length;
  if (due > 0) {
    bucket.seed(`${KEYS.results}/0b5e/SUCCEEDED_0.json`, succeeded);
    bucket.seed(`${KEYS.results}/0b5e/FAILED_0.json`, failed);
    bucket.seed(WRITER_MANIFEST, {
      DestinationBucket: FLEET_BUCKET,
      MapRunArn: MAP_RUN,
      ResultFiles: {
        FAILED: [{ Key: `${KEYS.results}/0b5e/FAILED_0.json`, Size: 1 }],
        PENDING: [],
        SUCCEEDED: [{ Key: `${KEYS.results}/0b5e/SUCCEEDED_0.json`, Size: 1 }],
      },
    });
  }
  const summarizeFleet = options.env ? await deployment({ ...FLEET_BUCKET_ENV, ...options.env }) : handler;
  return summarizeFleet({
    execution: EXECUTION,
    fleetStartedAt: FLEET_STARTED,
    dryRun: options.dryRun ?? false,
    listed: accounts.map((a) =>
      a.error !== undefined
        ? { accountId: a.accountId, error: a.error }
        : {
            accountId: a.accountId,
            due:
              (a.children ?? []).length + failed.filter((f) => String(f.Input).includes(a.accountId)).length,
          },
    ),
    due,
    results:
      due > 0
        ? { MapRunArn: MAP_RUN, ResultWriterDetails: { Bucket: FLEET_BUCKET, Key: WRITER_MANIFEST } }
        : {},
  });
}

/** The whole summary summarizeFleet wrote to the bucket. */
const written = () => bucket.json<FleetSummary>(KEYS.summary);

const counts = (c: Partial<FleetSummary['counts']>) => ({
  rotated: 0,
  planned: 0,
  failed: 0,
  alreadyStarted: 0,
  skipped: 0,
  deferred: 0,
  ...c,
});

const OWN = '111111111111';
const MEMBER = '222222222222';
const NO_ROLE = '333333333333';

describe('summarizeFleet', () => {
  it('counts every skipped user while naming only the first; the whole list is in the summary in S3', async () => {
    const skipped = Array.from({ length: 2500 }, (_, i) => ({
      userName: `s${i}`,
      reason: 'notTagged' as const,
    }));
    const summary = await summarize([
      { accountId: OWN, children: [{ userName: 'a', outcome: 'rotated' }], skipped },
    ]);
    expect(summary.skipped).toEqual(skipped.slice(0, 100));
    expect(summary.counts).toEqual(counts({ rotated: 1, skipped: 2500 }));
    expect(summary.failureCause).toBeUndefined();
    expect(written().skipped).toEqual(skipped);
    expect(written().counts).toEqual(summary.counts);
    expect(summary).toMatchObject({ bucket: FLEET_BUCKET, summaryKey: 'runs/run-1/summary.json' });
  });

  it('names each failed user and its error in the cause, without claiming what the child left', async () => {
    const summary = await summarize([
      {
        accountId: OWN,
        children: [
          { userName: 'a', outcome: 'failed', error: 'VaultWriteFailed' },
          { userName: 'b', outcome: 'rotated' },
        ],
      },
    ]);
    expect(summary.counts.skipped).toBe(0);
    expect(summary.failureCause).toContain('1 of 2 rotations failed');
    expect(summary.failureCause).toContain('a (VaultWriteFailed)');
    expect(summary.failureCause).not.toContain('unchanged');
  });

  it('counts deferred users by account and in all: the next run takes them, they fail nothing', async () => {
    const summary = await summarize([
      { accountId: OWN, children: [{ userName: 'a', outcome: 'rotated' }], deferred: ['d1', 'd2'] },
      { accountId: MEMBER, children: [], deferred: ['d3'] },
    ]);
    expect(summary.deferred).toEqual(['d1', 'd2', 'd3']);
    expect(summary.counts).toEqual(counts({ rotated: 1, deferred: 3 }));
    expect(summary.accounts.map((a) => [a.accountId, a.deferred, a.counts.deferred])).toEqual([
      [OWN, ['d1', 'd2'], 2],
      [MEMBER, ['d3'], 1],
    ]);
    expect(summary.failureCause).toBeUndefined();
  });

  it('publishes each listed account’s rotated and failed users (embedded metrics); none for an account not listed', async () => {
    const lines = await publishedMetrics('WARN', () =>
      summarize([
        {
          accountId: OWN,
          children: [
            { userName: 'a', outcome: 'rotated' },
            { userName: 'b', outcome: 'failed', error: 'VaultWriteFailed' },
          ],
          failedUsers: [{ userName: 'c', error: 'InvalidInputError', cause: 'x' }],
        },
        { accountId: NO_ROLE, error: 'TargetAccountAccessError', cause: '…' },
      ]),
    );
    expect(
      lines.map(({ AccountId, UsersRotated, UsersFailed }) => ({ AccountId, UsersRotated, UsersFailed })),
    ).toEqual([{ AccountId: OWN, UsersRotated: 1, UsersFailed: 2 }]);
  });

  it('writes the whole summary sealed with the bucket’s key, at the same key on every attempt', async () => {
    await summarize([{ accountId: OWN, children: [{ userName: 'a', outcome: 'rotated' }] }]);
    const first = bucket.objects.get(KEYS.summary);
    expect(first?.put).toMatchObject({
      Bucket: FLEET_BUCKET,
      ServerSideEncryption: 'aws:kms',
      SSEKMSKeyId: FLEET_KEY_ARN,
      BucketKeyEnabled: true,
    });
    await summarize([{ accountId: OWN, children: [{ userName: 'a', outcome: 'rotated' }] }]);
    expect(bucket.objects.get(KEYS.summary)?.body).toBe(first?.body);
  });

  it('nothing due: no results to read, the summary from the accounts’ listings', async () => {
    const summary = await summarize([
      { accountId: OWN, skipped: [{ userName: 'young', reason: 'keyYoung' }], deferred: [] },
    ]);
    expect(summary.counts).toEqual(counts({ skipped: 1 }));
    expect([...bucket.objects.keys()].filter((k) => k.includes('/results/'))).toEqual([]);
  });
});

describe('summarizeFleet by account', () => {
  /** This fleet's own child of `userName`, found already started. */
  const alreadyStarted = (userName: string): ChildOutput => ({
    userName,
    outcome: 'alreadyStarted',
    stateMachineArn: 'arn:aws:states:eu-west-1:123456789012:stateMachine:iam-key-rotator-dev',
    executionName: `fleet-0123456789abcdef-${userName}`,
    vaultPath: `aws/iam-users/${userName}`,
    userDefaults: {},
  });

  it('groups users by account, names the accounts not listed, and fails the fleet for them', async () => {
    sfn.on(DescribeExecutionCommand).resolves({
      status: 'RUNNING',
      startDate: new Date('2026-01-01T10:00:05Z'),
      input: JSON.stringify({
        userName: 'dave',
        accountId: MEMBER,
        vaultPath: 'aws/iam-users/dave',
        dryRun: false,
        fleetTaskToken: 'token-of-this-fleet',
      }),
    });
    const memberSkipped = ['erin', 'x1', 'x2', 'x3', 'x4', 'x5'].map((userName) => ({
      userName,
      reason: 'notTagged' as const,
    }));
    const summary = await summarize([
      {
        accountId: OWN,
        children: [{ userName: 'alice', outcome: 'rotated' }],
        skipped: [{ userName: 'carol', reason: 'keyYoung' }],
      },
      {
        accountId: MEMBER,
        children: [
          { userName: 'alice', outcome: 'rotated' },
          { userName: 'bob', outcome: 'failed', error: 'VaultWriteFailed' },
          alreadyStarted('dave'),
        ],
        skipped: memberSkipped,
      },
      { accountId: NO_ROLE, error: 'TargetAccountAccessError', cause: 'listCandidates cannot assume …' },
    ]);
    // In all, as a fleet over one account reports it.
    expect(summary.rotated).toEqual(['alice', 'alice']);
    expect(summary.skipped).toEqual([{ userName: 'carol', reason: 'keyYoung' }, ...memberSkipped]);
    expect(summary.counts).toEqual(counts({ rotated: 2, failed: 1, alreadyStarted: 1, skipped: 7 }));
    expect(summary.accounts).toEqual([
      {
        accountId: OWN,
        rotated: ['alice'],
        planned: [],
        failed: [],
        alreadyStarted: [],
        skipped: [{ userName: 'carol', reason: 'keyYoung' }],
        deferred: [],
        counts: counts({ rotated: 1, skipped: 1 }),
      },
      {
        accountId: MEMBER,
        rotated: ['alice'],
        planned: [],
        failed: [{ userName: 'bob', error: 'VaultWriteFailed' }],
        alreadyStarted: ['dave'],
        // Five names an account at most in the output; the count is every one.
        skipped: memberSkipped.slice(0, 5),
        deferred: [],
        counts: counts({ rotated: 1, failed: 1, alreadyStarted: 1, skipped: 6 }),
      },
      {
        accountId: NO_ROLE,
        error: 'TargetAccountAccessError',
        rotated: [],
        planned: [],
        failed: [],
        alreadyStarted: [],
        skipped: [],
        deferred: [],
        counts: counts({}),
      },
    ]);
    expect(written().accounts[1]?.skipped).toEqual(memberSkipped);
    expect(summary.failedAccounts).toEqual([
      { accountId: NO_ROLE, error: 'TargetAccountAccessError', cause: 'listCandidates cannot assume …' },
    ]);
    expect(summary.accountCounts).toEqual({ listed: 2, failed: 1 });
    expect(summary.failureCause).toContain(`1 of 4 rotations failed`);
    expect(summary.failureCause).toContain(`${MEMBER}/bob (VaultWriteFailed)`);
    expect(summary.failureCause).toContain(
      `1 account(s) could not be listed, so none of their users was started: ${NO_ROLE} (TargetAccountAccessError: listCandidates cannot assume …)`,
    );
  });

  it('an account not listed alone fails the fleet, though every listed user was rotated', async () => {
    const summary = await summarize([
      { accountId: OWN, children: [{ userName: 'alice', outcome: 'rotated' }] },
      { accountId: NO_ROLE, error: 'AwsUnavailableError', cause: 'iam:ListUsers failed' },
    ]);
    expect(summary.counts.failed).toBe(0);
    expect(summary.failureCause).toBe(
      `1 account(s) could not be listed, so none of their users was started: ${NO_ROLE} (AwsUnavailableError: iam:ListUsers failed).`,
    );
  });

  it('an account whose listing left no record (its invocation timed out) is named with the error its Catch recorded', async () => {
    const summary = await summarize([{ accountId: NO_ROLE, error: 'States.Timeout' }]);
    expect(summary.failedAccounts).toEqual([{ accountId: NO_ROLE, error: 'States.Timeout', cause: '' }]);
    expect(summary.failureCause).toBe(
      `1 account(s) could not be listed, so none of their users was started: ${NO_ROLE} (States.Timeout).`,
    );
  });

  it('prints a reported error name without its control characters (whoever holds a task token names it)', async () => {
    const summary = await summarize([
      { accountId: OWN, children: [{ userName: 'a', outcome: 'failed', error: 'Forged\u001b[2J\nName' }] },
    ]);
    expect(summary.failureCause).toContain(': a (Forged?[2J?Name).');
    expect(written().failed).toEqual([{ userName: 'a', error: 'Forged?[2J?Name' }]);
  });

  it('names users without their account when the fleet is over one account', async () => {
    const one = await summarize([
      { accountId: OWN, children: [{ userName: 'a', outcome: 'failed', error: 'VaultWriteFailed' }] },
    ]);
    expect(one.failureCause).toContain(': a (VaultWriteFailed).');
  });
});

describe('summarizeFleet with users listCandidates could not place', () => {
  const cause =
    "'vendor' has no iam-key-rotator:vault-path tag and vaultPath aws/iam-users/vendor serves no key, not one of its Active keys";

  it('counts them failed and fails the fleet naming each with its error and cause', async () => {
    const summary = await summarize([
      {
        accountId: OWN,
        children: [{ userName: 'alice', outcome: 'rotated' }],
        failedUsers: [{ userName: 'vendor', error: 'InvalidInputError', cause }],
      },
    ]);
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

  it('counts every one, names the first 100 in the output and 5 in the cause (with their messages), and says how many more and where they all are', async () => {
    const failedUsers = Array.from({ length: 105 }, (_, i) => ({
      userName: `vendor-${i}`,
      error: 'InvalidInputError',
      cause,
    }));
    const summary = await summarize([{ accountId: OWN, failedUsers }]);
    expect(summary.counts.failed).toBe(105);
    expect(summary.failed).toHaveLength(100);
    expect(written().failed).toHaveLength(105);
    expect(summary.failureCause).toContain('105 user(s) were not started: vendor-0 (');
    expect(summary.failureCause).toContain('vendor-4 (');
    expect(summary.failureCause).not.toContain('vendor-5 (');
    expect(summary.failureCause).toContain('and 100 more.');
    expect(summary.failureCause).toContain(`The full lists: s3://${FLEET_BUCKET}/runs/run-1/summary.json.`);
  });

  it('names a pin changed outside the rotator first, in the output and the cause, wherever its account', async () => {
    const many = Array.from({ length: 120 }, (_, i) => ({
      userName: `lost-${i}`,
      error: 'InvalidInputError',
      cause,
    }));
    const tampered = {
      userName: 'victim',
      error: 'InvalidInputError',
      cause: "the pin of 'victim' was changed outside the rotator (its MAC does not verify)",
    };
    const summary = await summarize([
      { accountId: OWN, failedUsers: many },
      { accountId: MEMBER, failedUsers: [tampered] },
    ]);
    expect(summary.failed[0]).toEqual({ userName: 'victim', error: 'InvalidInputError' });
    expect(summary.failureCause).toContain(
      `121 user(s) were not started: ${MEMBER}/victim (InvalidInputError: the pin of 'victim' was changed outside the rotator`,
    );
  });

  // No child history exists for them: the cause names them apart from the rotations that failed.
  it('does not count them among the rotations that failed (no child history exists)', async () => {
    const summary = await summarize([
      {
        accountId: OWN,
        children: [{ userName: 'alice', outcome: 'rotated' }],
        failedUsers: [{ userName: 'vendor', error: 'InvalidInputError', cause }],
      },
    ]);
    expect(summary.failureCause).not.toContain('rotations failed');
  });

  it('names them with their account in a fleet over several accounts', async () => {
    const summary = await summarize(
      [
        { accountId: OWN },
        { accountId: MEMBER, failedUsers: [{ userName: 'bob', error: 'InvalidInputError', cause: 'x' }] },
      ],
      { dryRun: true },
    );
    expect(summary.accounts[1]?.failed).toEqual([{ userName: 'bob', error: 'InvalidInputError' }]);
    expect(summary.failureCause).toContain('222222222222/bob (InvalidInputError: x)');
  });
});

describe('summarizeFleet reads the Map Run’s results as Step Functions writes them', () => {
  it('a child workflow that failed (timed out, aborted) fails its user with its error', async () => {
    const summary = await summarize([{ accountId: OWN, children: [{ userName: 'a', outcome: 'rotated' }] }], {
      failedEntries: [
        entry(OWN, 'b', 'FAILED', { Error: 'States.Timeout', Cause: 'the child workflow timed out' }),
        entry(OWN, 'c', 'ABORTED', {}),
      ],
    });
    expect(summary.failed).toEqual([
      { userName: 'b', error: 'States.Timeout' },
      { userName: 'c', error: 'ExecutionABORTED' },
    ]);
    expect(summary.counts).toEqual(counts({ rotated: 1, failed: 2 }));
    expect(summary.failureCause).toContain(
      '2 of 3 rotations failed before their new key was stored and verified: b (States.Timeout), c (ExecutionABORTED).',
    );
  });

  it.each([
    [false, 'planned'],
    [true, 'rotated'],
  ] as const)(
    'a fleet with dryRun %s fails a user whose child was answered %s (someone else holding its task token), naming it',
    async (dryRun, outcome) => {
      const right = dryRun ? 'planned' : 'rotated';
      const summary = await summarize(
        [
          {
            accountId: OWN,
            children: [
              { userName: 'a', outcome: right },
              { userName: 'b', outcome },
            ],
          },
        ],
        { dryRun },
      );
      expect(summary.counts).toEqual(counts({ [right]: 1, failed: 1 }));
      expect(summary.failed).toEqual([{ userName: 'b', error: 'FleetResultsError' }]);
      expect(summary.failureCause).toContain('b (FleetResultsError)');
    },
  );

  it.each([
    ['another user', { accountId: OWN, userName: 'mallory' }],
    ['the user in another account', { accountId: MEMBER, userName: 'b' }],
    ['nobody', {}],
  ])(
    'fails a user whose child was answered by a rotation of %s (its task token copied), naming it',
    async (_, answeredFor) => {
      const summary = await summarize([
        {
          accountId: OWN,
          children: [
            { userName: 'a', outcome: 'rotated' },
            { userName: 'b', outcome: 'rotated', answeredFor },
          ],
        },
      ]);
      expect(summary.counts).toEqual(counts({ rotated: 1, failed: 1 }));
      expect(summary.failed).toEqual([{ userName: 'b', error: 'FleetResultsError' }]);
      expect(summary.failureCause).toContain('b (FleetResultsError)');
    },
  );

  it('counts a child of a fleet started before answers named their user (no answeredFor) as it did then', async () => {
    const summary = await summarize([{ accountId: OWN, children: [{ userName: 'a', outcome: 'rotated' }] }], {
      legacyChildren: true,
    });
    expect(summary.counts).toEqual(counts({ rotated: 1 }));
    expect(summary.failureCause).toBeUndefined();
  });

  it('a result that names no user, or fewer results than due users, is counted and fails the fleet', async () => {
    const summary = await summarize([{ accountId: OWN, children: [{ userName: 'a', outcome: 'rotated' }] }], {
      failedEntries: [{ Status: 'FAILED', Input: 'not json', Error: 'States.Runtime' }],
    });
    expect(summary.counts).toEqual(counts({ rotated: 1 }));
    expect(summary.failureCause).toContain(
      "1 due user(s) have no result the fleet can read in the Map Run's results",
    );
  });

  it('refuses results outside the fleet’s bucket, a missing ResultWriter manifest or listing, as FleetResultsError', async () => {
    const run = (results: unknown, listed: unknown = [{ accountId: OWN, due: 1 }]) =>
      rejectionOf(
        handler({
          execution: EXECUTION,
          fleetStartedAt: FLEET_STARTED,
          dryRun: false,
          listed,
          due: 1,
          results,
        }),
      );
    bucket.seed(KEYS.account(OWN), {
      accountId: OWN,
      due: 1,
      maxDuePerAccount: 1000,
      skipped: [],
      failedUsers: [],
      deferred: [],
    });
    for (const results of [
      {},
      { MapRunArn: MAP_RUN, ResultWriterDetails: { Bucket: 'someone-elses-bucket', Key: WRITER_MANIFEST } },
      { MapRunArn: MAP_RUN, ResultWriterDetails: { Bucket: FLEET_BUCKET, Key: WRITER_MANIFEST } },
    ]) {
      const error = await run(results);
      expect(error.name, JSON.stringify(results)).toBe('FleetResultsError');
    }
    bucket.seed(WRITER_MANIFEST, { ResultFiles: {} });
    const unlisted = await run(
      { MapRunArn: MAP_RUN, ResultWriterDetails: { Bucket: FLEET_BUCKET, Key: WRITER_MANIFEST } },
      [{ accountId: MEMBER, due: 1 }],
    );
    expect(unlisted.name).toBe('FleetResultsError');
    expect(unlisted.message).toContain(`no listing of account ${MEMBER}`);
    bucket.seed(WRITER_MANIFEST, 'not json');
    const garbled = await run({
      MapRunArn: MAP_RUN,
      ResultWriterDetails: { Bucket: FLEET_BUCKET, Key: WRITER_MANIFEST },
    });
    expect(garbled.name).toBe('FleetResultsError');
  });

  it('S3 refusing a read is AwsRequestError (not retried); throttling is AwsUnavailableError (retried)', async () => {
    // A run where nothing was due: only the account's listing is read.
    const nothingDue = () =>
      handler({
        execution: EXECUTION,
        fleetStartedAt: FLEET_STARTED,
        dryRun: false,
        listed: [{ accountId: OWN, due: 0 }],
        due: 0,
        results: {},
      });
    s3.on(GetObjectCommand).rejects(sdkError('AccessDenied', 403, { Code: 'AccessDenied' }));
    const refused = await rejectionOf(nothingDue());
    expect([refused.name, refused.message]).toEqual([
      'AwsRequestError',
      's3:GetObject failed: AccessDenied (HTTP 403)',
    ]);
    s3.on(GetObjectCommand).rejects(sdkError('SlowDown', 503, { Code: 'SlowDown' }));
    const throttled = await rejectionOf(nothingDue());
    expect(throttled.name).toBe('AwsUnavailableError');
  });

  it('refuses an event the fleet machine does not send', async () => {
    for (const event of [
      {},
      { execution: EXECUTION, fleetStartedAt: 'yesterday', dryRun: false, listed: [], due: 0, results: {} },
      {
        execution: EXECUTION,
        fleetStartedAt: FLEET_STARTED,
        dryRun: false,
        listed: [{ accountId: OWN }],
        due: 0,
        results: {},
      },
    ]) {
      expect((await rejectionOf(handler(event))).name).toBe('InvalidInputError');
    }
  });
});

describe('summarizeFleet checks each child found already started', () => {
  const MACHINE = `arn:aws:states:eu-west-1:${OWN}:stateMachine:iam-key-rotator-dev`;
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

  const summarizeAlice = (dryRun = false, userDefaults: Record<string, unknown> = {}) =>
    summarize(
      [
        {
          accountId: OWN,
          children: [
            {
              userName: 'alice',
              outcome: 'alreadyStarted',
              stateMachineArn: MACHINE,
              executionName: NAME,
              vaultPath: 'aws/iam-users/alice',
              userDefaults,
            },
            { userName: 'bob', outcome: dryRun ? 'planned' : 'rotated' },
          ],
        },
      ],
      { dryRun },
    );

  it('counts this fleet’s rotation of the same user as already started, describing it by its ARN', async () => {
    sfn.on(DescribeExecutionCommand).resolves(holder());
    const summary = await summarizeAlice();
    expect(summary.alreadyStarted).toEqual(['alice']);
    expect(summary.failed).toEqual([]);
    expect(summary.failureCause).toBeUndefined();
    expect(sfn.commandCalls(DescribeExecutionCommand).map((c) => c.args[0].input)).toEqual([
      { executionArn: CHILD_ARN },
    ]);
  });

  it('fails the user with the error of this fleet’s own child that ended FAILED (its signal was lost)', async () => {
    sfn.on(DescribeExecutionCommand).resolves({ ...holder(), status: 'FAILED', error: 'VerificationFailed' });
    const summary = await summarizeAlice();
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
    const summary = await summarizeAlice(false, {
      deleteInactiveKey: false,
      oldKeyInUse: 'wait',
      graceSeconds: 3600,
    });
    expect(summary.alreadyStarted).toEqual(['alice']);
    expect(summary.failed).toEqual([]);
  });

  it('counts a dry run’s own dry-run child as already started', async () => {
    sfn.on(DescribeExecutionCommand).resolves(holder({ dryRun: true }));
    expect((await summarizeAlice(true)).alreadyStarted).toEqual(['alice']);
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
    const summary = await summarizeAlice();
    expect(summary.alreadyStarted).toEqual([]);
    expect(summary.rotated).toEqual(['bob']);
    expect(summary.failed).toEqual([{ userName: 'alice', error: 'ExecutionNameTakenError' }]);
    expect(summary.counts).toMatchObject({ rotated: 1, failed: 1, alreadyStarted: 0 });
    expect(summary.failureCause).toContain('alice (ExecutionNameTakenError)');
  });

  it('fails the user with ExecutionNameTakenError when a dry-run fleet finds a real rotation under the name', async () => {
    sfn.on(DescribeExecutionCommand).resolves(holder({ dryRun: false }));
    const summary = await summarizeAlice(true);
    expect(summary.failed).toEqual([{ userName: 'alice', error: 'ExecutionNameTakenError' }]);
  });

  it('fails the user with ExecutionNameTakenError when the execution cannot be described', async () => {
    sfn.on(DescribeExecutionCommand).rejects(sdkError('AccessDeniedException', 400));
    const summary = await summarizeAlice();
    expect(summary.failed).toEqual([{ userName: 'alice', error: 'ExecutionNameTakenError' }]);
    expect(summary.failureCause).toContain('alice (ExecutionNameTakenError)');
  });

  // A holder without accountId rotates the deployment's own account's user; the fleet always writes it.
  it('fails a member-account user whose name is held by an execution without accountId (it rotates the own account’s user)', async () => {
    sfn.on(DescribeExecutionCommand).resolves(holder({ accountId: undefined }));
    const summary = await summarize([
      { accountId: OWN },
      {
        accountId: MEMBER,
        children: [
          {
            userName: 'alice',
            outcome: 'alreadyStarted',
            stateMachineArn: MACHINE,
            executionName: NAME,
            vaultPath: 'aws/iam-users/alice',
            userDefaults: {},
          },
        ],
      },
    ]);
    expect(summary.failed).toEqual([{ userName: 'alice', error: 'ExecutionNameTakenError' }]);
  });

  // Both start dates are Step Functions’ own: no clock skew is allowed for.
  it('fails the user when the holder started 30 s before the fleet (both dates are Step Functions’)', async () => {
    sfn.on(DescribeExecutionCommand).resolves(holder({}, new Date('2026-01-01T09:59:30Z')));
    const summary = await summarizeAlice();
    expect(summary.failed).toEqual([{ userName: 'alice', error: 'ExecutionNameTakenError' }]);
  });
});

describe('summarizeFleet’s output at organisation scale', () => {
  it('stays far under Step Functions’ 256 KiB for 10,000 users over 1,000 accounts, every account failing something', async () => {
    // IAM's longest user names, 500-character causes, and a failure of each kind in every account.
    const name = (accountId: string, i: number) =>
      `${accountId}-${String(i).padStart(3, '0')}-`.padEnd(64, 'u');
    const longCause = `the pin of 'x' was changed outside the rotator ${'…'.repeat(460)}`.slice(0, 500);
    const accounts: AccountFixture[] = Array.from({ length: 1000 }, (_, a) => {
      const accountId = String(100_000_000_000 + a);
      if (a % 20 === 0) return { accountId, error: 'TargetAccountAccessError', cause: longCause };
      return {
        accountId,
        children: [
          ...Array.from({ length: 6 }, (_, i) => ({
            userName: name(accountId, i),
            outcome: 'rotated' as const,
          })),
          { userName: name(accountId, 6), outcome: 'failed' as const, error: 'VaultPermissionDeniedError' },
        ],
        failedUsers: [{ userName: name(accountId, 7), error: 'InvalidInputError', cause: longCause }],
        skipped: [{ userName: name(accountId, 8), reason: 'rotationRunning' as const }],
        deferred: [name(accountId, 9), name(accountId, 10)],
      };
    });
    const summary = await summarize(accounts);
    const users = Object.values(summary.counts).reduce((sum, n) => sum + n, 0);
    expect(users).toBe(950 * 11);
    expect(summary.counts).toEqual(
      counts({ rotated: 950 * 6, failed: 950 * 2, skipped: 950, deferred: 950 * 2 }),
    );
    expect(summary.accountCounts).toEqual({ listed: 950, failed: 50 });
    const bytes = Buffer.byteLength(JSON.stringify(summary), 'utf8');
    expect(bytes).toBeLessThan(64 * 1024);
    // The whole summary is in S3.
    expect(written().accounts).toHaveLength(1000);
    expect(written().failed).toHaveLength(1900);
  });
});
