import { IAMClient, PutRolePolicyCommand, TagUserCommand } from '@aws-sdk/client-iam';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  GetExecutionHistoryCommand,
  paginateListExecutions,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { childExecutionName } from '../../functions/commons/fleet-input.js';
import { pooled } from '../../functions/commons/iam-listing.js';
import type { AccountSummary, FleetSummary } from '../../functions/summarizeFleet.js';
import { AwsServiceError } from '../../local-stack/aws/errors.js';
import { LOCAL_TARGET_ROLE_NAME } from '../../local-stack/function-roles.js';
import { captureConsole } from '../../local-stack/logs.js';
import {
  fingerprint,
  localTarget,
  type Observed,
  type Target,
  USER_PATH,
} from '../../local-stack/provision.js';
import { prepareTarget } from '../../local-stack/rotation.js';
import type { Execution } from '../../local-stack/sfn/executions.js';
import { type LocalStack, startLocalStack } from '../../local-stack/stack.js';
import { childReport, expectNoKnownSecret } from '../support/fleet-reports.js';
import { expectInvariants, expectNoSecrets } from '../support/invariants.js';
import { type TestStack, vaultSecrets } from '../support/local-stack.js';

// Issue 17's organisation: 5,000 users over five accounts. A (the rotator's own) has 1,200 due
// users, more than maxDuePerAccount; B has no target role; in C one due user's tags are refused;
// in D two due users' StartRotation is retried; E is plain. Every wait is cut to milliseconds.
const B = '222222222222';
const C = '333333333333';
const D = '444444444444';
const E = '555555555555';
const TAG_KEY = 'iam-key-rotator:rotate';
const TAG_VALUE = 'scale';
const DAY_MS = 86_400_000;
const MAX_DUE_PER_ACCOUNT = 1_000;
/** Seeding calls (tags, backdating) and checks made at once. */
const PARALLEL = 16;

let stack: LocalStack;
let target: Target;
let sfn: SFNClient;
let A: string;

type Kind = 'due' | 'young' | 'untagged';

interface ScaleUser {
  accountId: string;
  userName: string;
  vaultPath: string;
  kind: Kind;
  /** Due and B's users: how old their key is. */
  ageDays?: number;
  oldAccessKeyId: string;
  oldSecret: string;
}

/** Every seeded user, by `<account>/<name>`. */
const users = new Map<string, ScaleUser>();
const id = (u: { accountId: string; userName: string }) => `${u.accountId}/${u.userName}`;

beforeAll(async () => {
  stack = await startLocalStack({
    memberAccountIds: [B, C, D, E],
    stepFunctions: {
      waitMs: { GracePeriod: 20, RecoveryWindow: 20, WaitForOldKeyIdle: 0 },
      retryPauseMs: 0,
    },
  });
  A = stack.aws.accountId;
  // B is allowed but never got deploy/target-account.yml: no target role to assume.
  target = localTarget(stack, {
    vaultPathTemplate: '{prefix}{accountId}/{userName}',
    allowedAccountIds: [B, C, D, E],
    memberAccounts: [C, D, E].map((accountId) => ({
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
}, 60_000);

afterAll(async () => {
  await stack?.close();
});

const admin = (accountId: string) => ({
  region: stack.aws.region,
  endpoint: stack.aws.endpoint,
  credentials: stack.aws.account(accountId).adminCredentials,
});

/**
 * Seeds users of one account in-process (user, key, Vault at the account's path), then tags the
 * opted-in ones and backdates the old keys through IAM's API and the emulator's admin route.
 */
async function seedAccount(
  accountId: string,
  letter: string,
  plan: { due: number[]; young: number; untagged: number },
): Promise<ScaleUser[]> {
  const account = stack.aws.account(accountId);
  const made: ScaleUser[] = [];
  const add = (kind: Kind, index: number, ageDays?: number) => {
    const userName = `${letter}-${kind}-${String(index).padStart(4, '0')}`;
    account.createUser(userName, USER_PATH);
    const key = account.createAccessKey(userName);
    const vaultPath = `${target.pathPrefix}${accountId}/${userName}`;
    stack.vault.writeSecret({
      mount: target.kvMount,
      path: vaultPath,
      data: { access_key: key.accessKeyId, secret_key: key.secretAccessKey },
    });
    const user: ScaleUser = {
      accountId,
      userName,
      vaultPath,
      kind,
      ...(ageDays === undefined ? {} : { ageDays }),
      oldAccessKeyId: key.accessKeyId,
      oldSecret: key.secretAccessKey,
    };
    users.set(id(user), user);
    made.push(user);
  };
  plan.due.forEach((ageDays, index) => add('due', index, ageDays));
  for (let i = 0; i < plan.young; i++) add('young', i);
  for (let i = 0; i < plan.untagged; i++) add('untagged', i);
  const iam = new IAMClient(admin(accountId));
  await pooled(
    made.filter((u) => u.kind !== 'untagged'),
    PARALLEL,
    async (u) => {
      await iam.send(
        new TagUserCommand({ UserName: u.userName, Tags: [{ Key: TAG_KEY, Value: TAG_VALUE }] }),
      );
      if (u.ageDays === undefined) return;
      // Backdated by whole days and a minute per index: no two keys of the account are as old.
      const createDate = new Date(Date.now() - u.ageDays * DAY_MS - made.indexOf(u) * 60_000);
      const response = await fetch(
        `${stack.aws.endpoint}/__admin/access-keys/${u.oldAccessKeyId}/create-date`,
        { method: 'POST', body: JSON.stringify({ createDate: createDate.toISOString() }) },
      );
      expect(response.status).toBe(200);
    },
  );
  return made;
}

/** A's 1,200 due keys are 100 to 1,299 days old, in an order unrelated to their names. */
const ageOfA = (index: number) => 100 + ((index * 487) % 1_200);

/** What IAM and Vault hold for the user now, read in-process (the secret as a fingerprint). */
function observed(user: ScaleUser): Observed {
  const keys = stack.aws.account(user.accountId).listAccessKeys(user.userName);
  const served = stack.vault.readSecret(target.kvMount, user.vaultPath);
  const data = served?.data as { access_key?: string; secret_key?: string } | null | undefined;
  return {
    accessKeys: keys.map((k) => ({ accessKeyId: k.accessKeyId, status: k.status, createDate: k.createDate })),
    vault:
      data?.access_key && data.secret_key
        ? {
            version: served?.metadata?.version ?? 0,
            accessKeyId: data.access_key,
            secretAccessKey: fingerprint(data.secret_key),
          }
        : null,
  };
}

/** What expectInvariants needs of the stack, for one user (its own secrets, in every Vault version). */
function invariantsContext(secrets: string[]): TestStack {
  return {
    vaultKey: async (user: { vaultPath: string }) => {
      const data = stack.vault.readSecret(target.kvMount, user.vaultPath)?.data as
        { access_key?: string; secret_key?: string } | null | undefined;
      return data?.access_key && data.secret_key
        ? { accessKeyId: data.access_key, secretAccessKey: data.secret_key }
        : null;
    },
    works: async (key: { accessKeyId: string; secretAccessKey: string }) => {
      const sts = new STSClient({
        region: stack.aws.region,
        endpoint: stack.aws.endpoint,
        credentials: key,
        maxAttempts: 1,
      });
      return sts.send(new GetCallerIdentityCommand({})).then(
        () => true,
        () => false,
      );
    },
    knownSecrets: () => secrets,
  } as unknown as TestStack;
}

async function settled(executionArn: string): Promise<DescribeExecutionCommandOutput> {
  for (;;) {
    const described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    if (described.status !== 'RUNNING') return described;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The rotator's executions named `name`, through ListExecutions (every page). */
async function rotationsNamed(name: string) {
  const found = [];
  for await (const page of paginateListExecutions(
    { client: sfn },
    { stateMachineArn: stack.stateMachineArn, maxResults: 1000 },
  )) {
    found.push(...(page.executions ?? []).filter((e) => e.name === name));
  }
  return found;
}

/** The error StartRotation reports when StartExecution started the child and its answer was lost. */
function lostAnswer(): Error {
  const error = new Error('the connection closed before StartExecution answered');
  error.name = 'StepFunctions.SdkClientException';
  return error;
}

const accountOf = (summary: FleetSummary, accountId: string): AccountSummary => {
  const found = summary.accounts.find((a) => a.accountId === accountId);
  if (!found) throw new Error(`the summary has no account ${accountId}`);
  return found;
};

const names = (list: ScaleUser[]) => list.map((u) => u.userName).sort();

describe('a fleet of 5,000 users over 5 accounts (statemachine/rotate-fleet.asl.json on the local stack)', () => {
  it('one account without a target role and one user whose tags are refused: FleetRotationIncomplete naming exactly those; 200 deferred; every other due user rotated, the invariants kept for every user; retried items start no second child', async () => {
    const seeded = {
      A: await seedAccount(A, 'a', {
        due: Array.from({ length: 1_200 }, (_, i) => ageOfA(i)),
        young: 150,
        untagged: 150,
      }),
      B: await seedAccount(B, 'b', { due: Array.from({ length: 1_000 }, () => 200), young: 0, untagged: 0 }),
      C: await seedAccount(C, 'c', { due: Array.from({ length: 10 }, () => 150), young: 40, untagged: 750 }),
      D: await seedAccount(D, 'd', { due: Array.from({ length: 12 }, () => 150), young: 38, untagged: 800 }),
      E: await seedAccount(E, 'e', { due: Array.from({ length: 12 }, () => 150), young: 38, untagged: 800 }),
    };
    expect(users.size).toBe(5_000);

    // In C, a policy denies reading one due user's tags: IAM answers that one ListUserTags AccessDenied.
    const refused = seeded.C.find((u) => u.userName === 'c-due-0003') as ScaleUser;
    await new IAMClient(admin(C)).send(
      new PutRolePolicyCommand({
        RoleName: LOCAL_TARGET_ROLE_NAME,
        PolicyName: 'no-tags-of-one-user',
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Deny',
              Action: 'iam:ListUserTags',
              Resource: `arn:aws:iam::${C}:user${USER_PATH}${refused.userName}`,
            },
          ],
        }),
      }),
    );

    // In D, StartRotation is retried for two users: one StartExecution is refused before it
    // starts anything, one starts the child and its answer is lost.
    const fleetName = 'scale-fleet';
    const fleetArn = `${stack.fleetStateMachineArn.replace(':stateMachine:', ':execution:')}:${fleetName}`;
    const [limited, lost] = seeded.D as [ScaleUser, ScaleUser];
    const childName = (u: ScaleUser) => childExecutionName(fleetArn, u.accountId, u.userName);
    const registry = stack.aws.stepFunctions.executions;
    const start = registry.start.bind(registry);
    const attempts = { limited: 0, lost: 0 };
    registry.start = (machine, name, input, options) => {
      if (name === childName(lost)) attempts.lost += 1;
      if (name === childName(limited) && attempts.limited++ === 0) {
        throw new AwsServiceError('ExecutionLimitExceeded', 'Maximum number of running executions reached');
      }
      const execution = start(machine, name, input, options);
      if (name === childName(lost) && attempts.lost === 1) throw lostAnswer();
      return execution;
    };

    const logs = captureConsole();
    let run: DescribeExecutionCommandOutput;
    let rotations: Execution[];
    try {
      await sfn.send(
        new StartExecutionCommand({
          stateMachineArn: stack.fleetStateMachineArn,
          name: fleetName,
          input: JSON.stringify({
            tagKey: TAG_KEY,
            tagValue: TAG_VALUE,
            maxKeyAgeDays: 90,
            allowedAccounts: true,
            maxConcurrency: 40,
            maxDuePerAccount: MAX_DUE_PER_ACCOUNT,
          }),
        }),
      );
      run = await settled(fleetArn);
      // The fleet ends at the last signal; each child retires its old key after it.
      const rotator = stack.aws.stepFunctions.machines.get(stack.stateMachineArn);
      rotations = registry.list(rotator);
      await Promise.all(rotations.map((e) => e.settled));
    } finally {
      logs.restore();
      registry.start = start;
    }
    expect(attempts).toEqual({ limited: 2, lost: 2 });

    // The fleet names exactly B and the refused user, nothing else.
    expect(run.status).toBe('FAILED');
    expect(run.error).toBe('FleetRotationIncomplete');
    expect(run.cause).toMatch(
      new RegExp(
        `^1 user\\(s\\) were not started: ${C}/${refused.userName} \\(AwsRequestError: .*iam:ListUserTags.*\\)\\. ` +
          `1 account\\(s\\) could not be listed, so none of their users was started: ${B} \\(TargetAccountAccessError: .*\\)\\.$`,
        's',
      ),
    );
    expect(new Set(run.cause?.match(/\b[a-e]-(due|young|untagged)-\d{4}\b/g))).toEqual(
      new Set([refused.userName]),
    );
    for (const other of [D, E]) expect(run.cause).not.toContain(other);

    // The summary: the state's output (names capped, counts exact) and the whole one in S3.
    const history =
      (await sfn.send(new GetExecutionHistoryCommand({ executionArn: fleetArn, maxResults: 1000 }))).events ??
      [];
    const exited = history.find(
      (e) => e.type === 'TaskStateExited' && e.stateExitedEventDetails?.name === 'Summarize',
    );
    const output = JSON.parse(exited?.stateExitedEventDetails?.output ?? '{}') as FleetSummary;
    const s3 = new S3Client({ ...admin(A), forcePathStyle: true });
    const stored = await s3.send(new GetObjectCommand({ Bucket: output.bucket, Key: output.summaryKey }));
    const summary = JSON.parse((await stored.Body?.transformToString()) ?? '{}') as FleetSummary;
    expect(output.summaryKey).toBe(`runs/${fleetName}/summary.json`);
    expect(output.counts).toEqual(summary.counts);
    expect(output.failureCause).toBe(run.cause);

    const due = (list: ScaleUser[]) => list.filter((u) => u.kind === 'due');
    const byAge = due(seeded.A).sort((x, y) => (y.ageDays ?? 0) - (x.ageDays ?? 0));
    const rotatedInA = byAge.slice(0, MAX_DUE_PER_ACCOUNT);
    const deferredInA = byAge.slice(MAX_DUE_PER_ACCOUNT);
    expect(deferredInA).toHaveLength(200);
    const a = accountOf(summary, A);
    expect(a.counts).toEqual({
      rotated: 1_000,
      planned: 0,
      failed: 0,
      alreadyStarted: 0,
      skipped: 300,
      deferred: 200,
    });
    expect([...a.rotated].sort()).toEqual(names(rotatedInA));
    // Oldest keys first: the deferred are the youngest of the due, in the order of their age.
    expect(a.deferred).toEqual(deferredInA.map((u) => u.userName));
    expect(Math.max(...deferredInA.map((u) => u.ageDays ?? 0))).toBeLessThan(
      Math.min(...rotatedInA.map((u) => u.ageDays ?? 0)),
    );
    expect(accountOf(output, A).counts).toEqual(a.counts);

    expect(accountOf(summary, B)).toMatchObject({
      error: 'TargetAccountAccessError',
      counts: { rotated: 0, planned: 0, failed: 0, alreadyStarted: 0, skipped: 0, deferred: 0 },
    });
    expect(summary.failedAccounts).toEqual([
      { accountId: B, error: 'TargetAccountAccessError', cause: expect.stringContaining(B) },
    ]);

    const c = accountOf(summary, C);
    expect(c.failed).toEqual([{ userName: refused.userName, error: 'AwsRequestError' }]);
    expect([...c.rotated].sort()).toEqual(names(due(seeded.C).filter((u) => u !== refused)));

    // The retry after the lost answer asks for the same name with its own task token in the
    // input: ExecutionAlreadyExists, and the summary proves the holder is this fleet's rotation.
    const d = accountOf(summary, D);
    expect([...d.rotated].sort()).toEqual(names(due(seeded.D).filter((u) => u !== lost)));
    expect(d.alreadyStarted).toEqual([lost.userName]);
    expect(d.failed).toEqual([]);
    const e = accountOf(summary, E);
    expect([...e.rotated].sort()).toEqual(names(due(seeded.E)));
    for (const [account, list] of [
      [c, seeded.C],
      [d, seeded.D],
      [e, seeded.E],
    ] as const) {
      expect(account.counts.deferred).toBe(0);
      expect(account.counts.skipped).toBe(list.length - due(list).length);
      expect(account.failed.length + account.counts.rotated + account.counts.alreadyStarted).toBe(
        due(list).length,
      );
    }
    expect(summary.counts).toEqual({
      rotated: 1_000 + 9 + 11 + 12,
      planned: 0,
      failed: 1,
      alreadyStarted: 1,
      skipped: 300 + 790 + 838 + 838,
      deferred: 200,
    });
    expect(summary.accountCounts).toEqual({ listed: 4, failed: 1 });

    // One rotation per started user, under its name; a retried item started no second one.
    const started = [...rotatedInA, ...due(seeded.C), ...due(seeded.D), ...due(seeded.E)].filter(
      (u) => u !== refused,
    );
    expect(rotations.map((x) => x.name).sort()).toEqual(started.map(childName).sort());
    for (const retried of [limited, lost]) {
      const listed = await rotationsNamed(childName(retried));
      expect(listed, retried.userName).toHaveLength(1);
      expect(listed[0]?.status).toBe('SUCCEEDED');
    }
    // Each retry was StartRotation's own Retry, in the user's child workflow of the Map Run.
    const mapRunArn =
      history.find((x) => x.type === 'MapRunStarted')?.mapRunStartedEventDetails?.mapRunArn ?? '';
    const items: Execution[] = [];
    for await (const page of paginateListExecutions({ client: sfn }, { mapRunArn, maxResults: 1000 })) {
      items.push(...(page.executions ?? []).map((x) => registry.get(x.executionArn ?? '')));
    }
    expect(items).toHaveLength(started.length);
    const itemOf = (u: ScaleUser) => {
      const theirs = items.filter(
        (x) => (JSON.parse(x.input) as { user: ScaleUser }).user.userName === u.userName,
      );
      expect(theirs, u.userName).toHaveLength(1);
      return theirs[0] as Execution;
    };
    const startFailures = (item: Execution) =>
      item.history.flatMap((x) => (x.type === 'TaskFailed' ? [x.taskFailedEventDetails?.error] : []));
    expect(startFailures(itemOf(limited))).toEqual(['StepFunctions.ExecutionLimitExceededException']);
    expect(JSON.parse(itemOf(limited).output ?? '{}')).toMatchObject({ outcome: 'rotated' });
    expect(startFailures(itemOf(lost))).toEqual([
      'StepFunctions.SdkClientException',
      'StepFunctions.ExecutionAlreadyExistsException',
    ]);
    expect(JSON.parse(itemOf(lost).output ?? '{}')).toMatchObject({ outcome: 'alreadyStarted' });
    expect(itemOf(lost).output).not.toContain('fleetTaskToken');

    // Every started user: its child SUCCEEDED and kept the invariants; every other user untouched.
    const linesOf = new Map<string, string[]>();
    for (const line of logs.lines) {
      const named = /"userName":"([^"]+)"/.exec(line)?.[1] ?? /-([a-e]-[a-z]+-\d{4})\b/.exec(line)?.[1];
      if (named) linesOf.set(named, [...(linesOf.get(named) ?? []), line]);
    }
    const secretsByPath = new Map<string, string[]>();
    for (const ns of Object.values(stack.vault.snapshot().namespaces)) {
      for (const secret of Object.values(ns.secrets)) {
        const values = Object.values(secret.versions ?? {}).flatMap((v) =>
          typeof v.data?.secret_key === 'string' ? [v.data.secret_key] : [],
        );
        secretsByPath.set(secret.path, values);
      }
    }
    const byName = new Map(rotations.map((x) => [x.name, x]));
    await pooled(started, PARALLEL, async (user) => {
      const execution = byName.get(childName(user)) as Execution;
      expect(execution.status, user.userName).toBe('SUCCEEDED');
      const before: Observed = {
        accessKeys: [{ accessKeyId: user.oldAccessKeyId, status: 'Active', createDate: '' }],
        vault: { version: 1, accessKeyId: user.oldAccessKeyId, secretAccessKey: fingerprint(user.oldSecret) },
      };
      const after = observed(user);
      const report = childReport(
        execution,
        { userName: user.userName, before, after },
        linesOf.get(user.userName) ?? [],
      );
      await expectInvariants(invariantsContext(secretsByPath.get(user.vaultPath) ?? []), user, report);
      expect(after.vault?.accessKeyId, user.userName).not.toBe(user.oldAccessKeyId);
    });
    const startedIds = new Set(started.map(id));
    for (const user of users.values()) {
      if (startedIds.has(id(user))) continue;
      const now = observed(user);
      expect(
        now.accessKeys.map((k) => [k.accessKeyId, k.status]),
        id(user),
      ).toEqual([[user.oldAccessKeyId, 'Active']]);
      expect(now.vault?.accessKeyId, id(user)).toBe(user.oldAccessKeyId);
    }

    // No secret access key of any user in any log line, the fleet's history or its summary (each
    // child's history was checked with its user's above, and for anything shaped like a secret).
    const texts = [JSON.stringify(history), JSON.stringify(summary), ...logs.lines];
    expectNoKnownSecret(texts, new Set(vaultSecrets(stack)));
    expectNoSecrets(texts, []);
  }, 240_000);
});
