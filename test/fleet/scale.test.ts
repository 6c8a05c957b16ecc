// Issue 17's acceptance run through the real ASL on the local stack: 5,000 users over 5 accounts
// (waits scaled to nothing), one account without its target role, one user whose ListUserTags is
// refused, 1,200 due users in one account with the deployment's maxDuePerAccount of 1,000. The
// fleet ends FleetRotationIncomplete naming exactly that account and that user, 200 are deferred,
// every other due user is rotated, and no user breaks the product's promises.
import { IAMClient, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FleetSummary } from '../../functions/summarizeFleet.js';
import { LOCAL_TARGET_ROLE_NAME } from '../../local-stack/function-roles.js';
import {
  dataPath,
  localTarget,
  readVaultKey,
  type Target,
  USER_PATH,
  vaultAdmin,
} from '../../local-stack/provision.js';
import { prepareTarget } from '../../local-stack/rotation.js';
import { type LocalStack, startLocalStack } from '../../local-stack/stack.js';
import { expectNoSecrets } from '../support/invariants.js';
import { vaultSecrets } from '../support/local-stack.js';
import { settled as settledOn } from './support.js';

const HOME = '123456789012';
/** Member accounts with the target role; NO_ROLE has none, so it cannot be listed. */
const MEMBERS = ['222222222222', '444444444444', '555555555555'];
const NO_ROLE = '333333333333';
const REFUSED = { accountId: '222222222222', userName: 'scale-222222222222-due-003' };
const DAY_MS = 86_400_000;
/** Users per account, and of them due (keys 120 days old); the others' keys are new (keyYoung). */
const USERS: Record<string, { users: number; due: number }> = {
  [HOME]: { users: 1200, due: 1200 },
  ...Object.fromEntries([...MEMBERS, NO_ROLE].map((id) => [id, { users: 950, due: 10 }])),
};

let stack: LocalStack;
let target: Target;
let sfn: SFNClient;

interface ScaleUser {
  accountId: string;
  userName: string;
  due: boolean;
  accessKeyId: string;
  vaultPath: string;
}
const users: ScaleUser[] = [];

beforeAll(async () => {
  stack = await startLocalStack({
    memberAccountIds: [...MEMBERS, NO_ROLE],
    stepFunctions: { waitMs: 0, retryPauseMs: 0 },
  });
  process.env.VAULT_PATH_TEMPLATE = '{prefix}{accountId}/{userName}';
  target = localTarget(stack, {
    allowedAccountIds: [...MEMBERS, NO_ROLE],
    memberAccounts: MEMBERS.map((accountId) => ({
      accountId,
      credentials: stack.aws.account(accountId).adminCredentials,
    })),
  });
  await prepareTarget(target);
  sfn = new SFNClient({
    region: stack.aws.region,
    endpoint: stack.aws.endpoint,
    credentials: stack.aws.adminCredentials,
  });
  // One user IAM will not describe: its ListUserTags is refused to the target role (as a user
  // newly created under a permissions boundary, or an SCP, would be).
  await new IAMClient({
    region: stack.aws.region,
    endpoint: stack.aws.endpoint,
    credentials: stack.aws.account(REFUSED.accountId).adminCredentials,
  }).send(
    new PutRolePolicyCommand({
      RoleName: LOCAL_TARGET_ROLE_NAME,
      PolicyName: 'refuse-one-user',
      PolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Deny',
            Action: 'iam:ListUserTags',
            Resource: `arn:aws:iam::${REFUSED.accountId}:user${USER_PATH}${REFUSED.userName}`,
          },
        ],
      }),
    }),
  );
  // Seeded in-process (the emulator's own API): 5,000 users, each with one key; the due ones
  // backdated and served in Vault at their account's path.
  const vault = vaultAdmin(target);
  for (const [accountId, { users: count, due }] of Object.entries(USERS)) {
    const account = stack.aws.account(accountId);
    for (let i = 0; i < count; i++) {
      const isDue = i < due;
      const userName = `scale-${accountId}-${isDue ? 'due' : 'new'}-${String(i).padStart(3, '0')}`;
      account.createUser(userName, USER_PATH);
      const key = account.createAccessKey(userName);
      const vaultPath = `${target.pathPrefix}${accountId}/${userName}`;
      users.push({ accountId, userName, due: isDue, accessKeyId: key.accessKeyId, vaultPath });
      if (!isDue) continue;
      await vault.post(dataPath(target, vaultPath), {
        data: { access_key: key.accessKeyId, secret_key: key.secretAccessKey },
      });
      // Oldest first by name: the 1,000 of the home account rotated are its first 1,000.
      const createDate = new Date(Date.now() - (120 + count - i) * DAY_MS).toISOString();
      const aged = await fetch(`${stack.aws.endpoint}/__admin/access-keys/${key.accessKeyId}/create-date`, {
        method: 'POST',
        body: JSON.stringify({ createDate }),
      });
      expect(aged.status).toBe(200);
    }
  }
}, 300_000);

afterAll(async () => {
  await stack.close();
});

const settled = (executionArn: string) => settledOn(sfn, executionArn, 100);

/** Every execution of the rotation machine, every page. */
async function rotations() {
  const all = [];
  let nextToken: string | undefined;
  do {
    const page = await sfn.send(
      new ListExecutionsCommand({ stateMachineArn: stack.stateMachineArn, maxResults: 1000, nextToken }),
    );
    all.push(...(page.executions ?? []));
    nextToken = page.nextToken;
  } while (nextToken);
  return all;
}

describe('a fleet at organisation scale (issue 17)', () => {
  it('5,000 users over 5 accounts: the unlistable account and the refused user named, 200 deferred, every other due user rotated, no promise broken', async () => {
    const { executionArn = '' } = await sfn.send(
      new StartExecutionCommand({
        stateMachineArn: stack.fleetStateMachineArn,
        name: 'scale',
        input: JSON.stringify({ allUsersInPath: true, allowedAccounts: true, maxConcurrency: 40 }),
      }),
    );
    const run = await settled(executionArn);
    expect(run.status).toBe('FAILED');
    expect(run.error).toBe('FleetRotationIncomplete');
    // Exactly that account and that user.
    expect(run.cause).toContain(
      `1 user(s) were not started: ${REFUSED.accountId}/${REFUSED.userName} (AwsRequestError: iam:ListUserTags failed: AccessDenied`,
    );
    expect(run.cause).toContain(
      `1 account(s) could not be listed, so none of their users was started: ${NO_ROLE} (TargetAccountAccessError: `,
    );
    expect(run.cause).not.toContain('rotations failed');

    const events =
      (await sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000 }))).events ?? [];
    const summarized = events.find(
      (e) => e.type === 'TaskStateExited' && e.stateExitedEventDetails?.name === 'Summarize',
    );
    const summary = JSON.parse(summarized?.stateExitedEventDetails?.output ?? '{}') as FleetSummary;
    const dueCount = Object.values(USERS).reduce((sum, a) => sum + a.due, 0);
    // 1,200 + 3 × 10 listed due, less the refused user, less 200 deferred.
    const rotatedCount = dueCount - (USERS[NO_ROLE]?.due ?? 0) - 1 - 200;
    expect(summary.counts).toEqual({
      rotated: rotatedCount,
      planned: 0,
      failed: 1,
      alreadyStarted: 0,
      skipped: MEMBERS.length * 940,
      deferred: 200,
    });
    expect(summary.accountCounts).toEqual({ listed: 4, failed: 1 });
    const home = summary.accounts.find((a) => a.accountId === HOME);
    expect(home?.counts).toMatchObject({ rotated: 1000, deferred: 200, failed: 0 });
    // The whole summary in S3 names every deferred user: the home account's 200 newest keys.
    const s3 = new S3Client({
      region: stack.aws.region,
      endpoint: stack.aws.endpoint,
      credentials: stack.aws.adminCredentials,
      forcePathStyle: true,
    });
    const whole = JSON.parse(
      (await (
        await s3.send(new GetObjectCommand({ Bucket: summary.bucket, Key: summary.summaryKey }))
      ).Body?.transformToString()) ?? '{}',
    ) as FleetSummary;
    expect([...whole.deferred].sort()).toEqual(
      users
        .filter((u) => u.accountId === HOME && u.due)
        .slice(1000)
        .map((u) => u.userName)
        .sort(),
    );
    expect(whole.rotated).toHaveLength(rotatedCount);
    // Far under Step Functions' 256 KiB, whatever the fleet's size.
    expect(Buffer.byteLength(summarized?.stateExitedEventDetails?.output ?? '')).toBeLessThan(64 * 1024);

    // Every child ended (their old keys retire after the fleet's end), once per user: no second child.
    const children = await rotations();
    expect(children).toHaveLength(rotatedCount);
    expect(new Set(children.map((c) => c.name)).size).toBe(rotatedCount);
    const ended = await Promise.all(children.map((c) => settled(c.executionArn ?? '')));
    expect(ended.filter((e) => e.status !== 'SUCCEEDED')).toEqual([]);

    // The promises, user by user: rotated ones hold one new Active key, the one Vault serves, which
    // STS accepts; every other user is exactly as seeded.
    const rotated = new Set(
      whole.accounts.flatMap((a) => a.rotated.map((userName) => `${a.accountId}/${userName}`)),
    );
    const check = async (user: ScaleUser): Promise<string[]> => {
      const label = `${user.accountId}/${user.userName}`;
      const keys = stack.aws.account(user.accountId).listAccessKeys(user.userName);
      const served = user.due ? await readVaultKey(target, user.vaultPath) : null;
      if (!rotated.has(label)) {
        return [
          ...(keys.length !== 1 || keys[0]?.accessKeyId !== user.accessKeyId || keys[0].status !== 'Active'
            ? [`${label}: touched though not rotated`]
            : []),
          ...(user.due && served?.accessKeyId !== user.accessKeyId ? [`${label}: Vault changed`] : []),
        ];
      }
      const works = served
        ? await new STSClient({
            region: stack.aws.region,
            endpoint: stack.aws.endpoint,
            credentials: served,
            maxAttempts: 1,
          })
            .send(new GetCallerIdentityCommand({}))
            .then(
              () => true,
              () => false,
            )
        : false;
      return [
        ...(keys.length !== 1 || keys[0]?.status !== 'Active' || keys[0].accessKeyId === user.accessKeyId
          ? [`${label}: keys ${JSON.stringify(keys.map((k) => [k.accessKeyId, k.status]))}`]
          : []),
        ...(served?.accessKeyId !== keys[0]?.accessKeyId || !works ? [`${label}: Vault's key`] : []),
      ];
    };
    const violations: string[] = [];
    for (let i = 0; i < users.length; i += 50) {
      violations.push(...(await Promise.all(users.slice(i, i + 50).map(check))).flat());
    }
    expect(violations).toEqual([]);
    expect(rotated.size).toBe(rotatedCount);
    expect(rotated.has(`${REFUSED.accountId}/${REFUSED.userName}`)).toBe(false);
    // No secret in the fleet's history or its objects.
    expectNoSecrets([JSON.stringify(events), JSON.stringify(whole)], vaultSecrets(stack));
  }, 600_000);
});
