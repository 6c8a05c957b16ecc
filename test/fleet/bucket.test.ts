import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { GetExecutionHistoryCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccountListing, FailedAccount } from '../../functions/commons/fleet-input.js';
import type { FleetSummary } from '../../functions/summarizeFleet.js';
import { functionRoleArn } from '../../local-stack/function-roles.js';
import { localTarget, type Target } from '../../local-stack/provision.js';
import { prepareTarget } from '../../local-stack/rotation.js';
import { type LocalStack, startLocalStack } from '../../local-stack/stack.js';
import { accountUser, settled, TAG_KEY } from './support.js';

// What a fleet run leaves in the fleet's bucket, and as which roles, on runs where nobody is due
// (so no Map Run starts): every account's listing, the manifest, the whole summary, each sealed
// with the bucket's key; the output names and counts, the summary in S3 names all.
const MEMBER = '222222222222';
const NO_ROLE = '333333333333';

let stack: LocalStack;
let target: Target;
let sfn: SFNClient;
let s3: S3Client;

beforeAll(async () => {
  stack = await startLocalStack({
    memberAccountIds: [MEMBER, NO_ROLE],
    stepFunctions: { waitMs: 0, retryPauseMs: 0 },
  });
  process.env.VAULT_PATH_TEMPLATE = '{prefix}{accountId}/{userName}';
  target = localTarget(stack, {
    allowedAccountIds: [MEMBER, NO_ROLE],
    memberAccounts: [{ accountId: MEMBER, credentials: stack.aws.account(MEMBER).adminCredentials }],
  });
  await prepareTarget(target);
  const admin = {
    region: stack.aws.region,
    endpoint: stack.aws.endpoint,
    credentials: stack.aws.adminCredentials,
  };
  sfn = new SFNClient(admin);
  s3 = new S3Client({ ...admin, forcePathStyle: true });
});

afterAll(async () => {
  await stack.close();
});

const read = async (key: string): Promise<unknown> => {
  const out = await s3.send(new GetObjectCommand({ Bucket: stack.fleetBucket.bucket, Key: key }));
  return JSON.parse((await out.Body?.transformToString()) ?? 'null') as unknown;
};

describe('the fleet’s bucket on the local stack', () => {
  it('holds each account’s listing, the manifest and the whole summary under the run’s prefix, sealed with the bucket’s key, written by the functions’ own roles', async () => {
    await accountUser({ stack, target }, stack.aws.accountId, 'bucket-young', { tag: 'bucket', ageDays: 5 });
    // Due, but served nowhere: failed (not started), so nothing reaches the Map.
    await accountUser({ stack, target }, MEMBER, 'bucket-unplaced', {
      tag: 'bucket',
      ageDays: 120,
      served: false,
    });
    await accountUser({ stack, target }, NO_ROLE, 'bucket-stranded', { tag: 'bucket', ageDays: 120 });
    stack.aws.clearAuthorizationLog();
    const { executionArn = '' } = await sfn.send(
      new StartExecutionCommand({
        stateMachineArn: stack.fleetStateMachineArn,
        name: 'bucket-run',
        input: JSON.stringify({ tagKey: TAG_KEY, tagValue: 'bucket', allowedAccounts: true }),
      }),
    );
    const run = await settled(sfn, executionArn);
    expect(run.status).toBe('FAILED');
    expect(run.error).toBe('FleetRotationIncomplete');
    expect(run.cause).toContain(`${MEMBER}/bucket-unplaced (InvalidInputError: `);
    expect(run.cause).toContain(`${NO_ROLE} (TargetAccountAccessError: `);

    const listing = await fetch(
      `${stack.aws.endpoint}/__admin/s3/buckets/${stack.fleetBucket.bucket}/objects`,
    );
    const { objects } = (await listing.json()) as {
      objects: { key: string; serverSideEncryption: string; kmsKeyId?: string }[];
    };
    const home = stack.aws.accountId;
    expect(objects.map((o) => o.key)).toEqual([
      `runs/bucket-run/accounts/${home}.json`,
      `runs/bucket-run/accounts/${MEMBER}.json`,
      `runs/bucket-run/accounts/${NO_ROLE}.json`,
      'runs/bucket-run/due.manifest',
      'runs/bucket-run/summary.json',
    ]);
    for (const object of objects) {
      expect(object, object.key).toMatchObject({
        serverSideEncryption: 'aws:kms',
        kmsKeyId: stack.fleetBucket.keyArn,
      });
    }
    expect(await read(`runs/bucket-run/accounts/${home}.json`)).toMatchObject({
      accountId: home,
      due: 0,
      skipped: [{ accountId: home, userName: 'bucket-young', reason: 'keyYoung' }],
      failedUsers: [],
      deferred: [],
    } satisfies Partial<AccountListing>);
    expect(await read(`runs/bucket-run/accounts/${NO_ROLE}.json`)).toEqual({
      accountId: NO_ROLE,
      error: 'TargetAccountAccessError',
      cause: expect.stringContaining(`arn:aws:iam::${NO_ROLE}:role/iam-key-rotator-target`) as string,
    } satisfies FailedAccount);

    // The output (the Summarize state's) names what the whole summary in S3 names, and says where it is.
    const events = (await sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000 })))
      .events;
    const exited = events?.find(
      (e) => e.type === 'TaskStateExited' && e.stateExitedEventDetails?.name === 'Summarize',
    );
    const output = JSON.parse(exited?.stateExitedEventDetails?.output ?? '{}') as FleetSummary;
    const whole = (await read('runs/bucket-run/summary.json')) as FleetSummary;
    expect(output).toMatchObject({
      bucket: stack.fleetBucket.bucket,
      summaryKey: 'runs/bucket-run/summary.json',
    });
    expect(whole.counts).toEqual(output.counts);
    expect(whole.failed).toEqual([{ userName: 'bucket-unplaced', error: 'InvalidInputError' }]);
    expect(whole.accounts.map((a) => [a.accountId, a.error])).toEqual([
      [home, undefined],
      [MEMBER, undefined],
      [NO_ROLE, 'TargetAccountAccessError'],
    ]);

    // Each function wrote as its own role, and nothing was refused but the AssumeRole into the account without the role.
    expect(stack.aws.allowedActions()).toEqual(
      expect.arrayContaining([
        { roleArn: functionRoleArn(home, 'listCandidates'), action: 's3:PutObject' },
        { roleArn: functionRoleArn(home, 'writeFleetManifest'), action: 's3:PutObject' },
        { roleArn: functionRoleArn(home, 'summarizeFleet'), action: 's3:GetObject' },
        { roleArn: functionRoleArn(home, 'summarizeFleet'), action: 's3:PutObject' },
      ]),
    );
    expect(stack.aws.denials()).toEqual([
      expect.objectContaining({ action: 'sts:AssumeRole', roleArn: functionRoleArn(home, 'listCandidates') }),
    ]);
  });

  it('a fleet input asking for more than the deployment’s maxDuePerAccount is refused before anything is listed', async () => {
    stack.traffic.resetCalls();
    const { executionArn = '' } = await sfn.send(
      new StartExecutionCommand({
        stateMachineArn: stack.fleetStateMachineArn,
        input: JSON.stringify({ maxDuePerAccount: 1001 }),
      }),
    );
    const run = await settled(sfn, executionArn);
    expect(run.status).toBe('FAILED');
    expect(run.error).toBe('InvalidInputError');
    expect(run.cause).toContain("maxDuePerAccount: 1001 is above the deployment's maxDuePerAccount (1000)");
    expect(
      Object.keys(stack.traffic.calls()).filter((c) => c.startsWith('iam:') || c.startsWith('s3:')),
    ).toEqual([]);
  });
});
