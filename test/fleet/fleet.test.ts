import { IAMClient, ListAccessKeysCommand, ListUserTagsCommand, TagUserCommand } from '@aws-sdk/client-iam';
import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { childExecutionName } from '../../functions/commons/fleet-input.js';
import type { FleetSummary } from '../../functions/summarizeFleet.js';
import {
  localTarget,
  observe,
  readVaultKey,
  type SeededUser,
  seedUser,
  type Target,
} from '../../local-stack/provision.js';
import { prepareTarget } from '../../local-stack/rotation.js';
import { fleetMachine } from '../../local-stack/sfn/fleet.js';
import { type LocalStack, startLocalStack } from '../../local-stack/stack.js';

/** Children wait this long in GracePeriod: long enough to tell a held slot from a freed one. */
const GRACE_MS = 1_500;

let stack: LocalStack;
let target: Target;
let sfn: SFNClient;
let iam: IAMClient;

beforeAll(async () => {
  stack = await startLocalStack({
    stepFunctions: {
      waitMs: { GracePeriod: GRACE_MS, RecoveryWindow: 0, WaitForOldKeyIdle: 0 },
      retryPauseMs: 0,
    },
  });
  target = localTarget(stack);
  await prepareTarget(target);
  // What serverless.yml sets from AWS::AccountId; listCandidates names each user's account.
  process.env.ROTATOR_ACCOUNT_ID = stack.aws.accountId;
  const client = {
    region: stack.aws.region,
    endpoint: stack.aws.endpoint,
    credentials: stack.aws.adminCredentials,
  };
  sfn = new SFNClient(client);
  iam = new IAMClient(client);
});

afterAll(async () => {
  await stack.close();
});

const DAY_MS = 86_400_000;

/** A user under the rotated path, tagged `iam-key-rotator:rotate=<tag>` unless `tag` is null, its keys `ageDays` old. */
async function fleetUser(
  userName: string,
  options: { tag: string | null; ageDays: number; keys?: number; vaultPath?: string },
): Promise<SeededUser> {
  const user = await seedUser(target, userName, {
    keys: options.keys ?? 1,
    ...(options.vaultPath ? { vaultPath: options.vaultPath } : {}),
  });
  if (options.tag !== null) {
    await iam.send(
      new TagUserCommand({
        UserName: userName,
        Tags: [{ Key: 'iam-key-rotator:rotate', Value: options.tag }],
      }),
    );
  }
  await age(userName, options.ageDays);
  return user;
}

/** Backdates every key of the user to `ageDays` ago. */
async function age(userName: string, ageDays: number): Promise<void> {
  const keys = (await iam.send(new ListAccessKeysCommand({ UserName: userName }))).AccessKeyMetadata ?? [];
  for (const key of keys) {
    const response = await fetch(`${stack.aws.endpoint}/__admin/access-keys/${key.AccessKeyId}/create-date`, {
      method: 'POST',
      body: JSON.stringify({ createDate: new Date(Date.now() - ageDays * DAY_MS).toISOString() }),
    });
    expect(response.status).toBe(200);
  }
}

/** The user's tags, by key. */
async function tagsOf(userName: string): Promise<Record<string, string>> {
  const tags = (await iam.send(new ListUserTagsCommand({ UserName: userName }))).Tags ?? [];
  return Object.fromEntries(tags.map((t) => [t.Key ?? '', t.Value ?? '']));
}

/** One rotation of the user started directly (not by a fleet), run to its end. */
async function rotateDirectly(input: Record<string, unknown>, name?: string) {
  const { executionArn } = await sfn.send(
    new StartExecutionCommand({
      stateMachineArn: stack.stateMachineArn,
      input: JSON.stringify(input),
      ...(name ? { name } : {}),
    }),
  );
  return settled(executionArn ?? '');
}

async function settled(executionArn: string): Promise<DescribeExecutionCommandOutput> {
  for (;;) {
    const described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    if (described.status !== 'RUNNING') return described;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function runFleet(
  input: Record<string, unknown>,
  options: { name?: string; machine?: string } = {},
): Promise<DescribeExecutionCommandOutput & { summary: FleetSummary | undefined; ms: number }> {
  const started = Date.now();
  const { executionArn } = await sfn.send(
    new StartExecutionCommand({
      stateMachineArn: options.machine ?? stack.fleetStateMachineArn,
      input: JSON.stringify(input),
      ...(options.name ? { name: options.name } : {}),
    }),
  );
  const described = await settled(executionArn ?? '');
  const summary = described.output ? (JSON.parse(described.output) as FleetSummary) : undefined;
  return { ...described, summary, ms: Date.now() - started };
}

/** The rotator's executions whose name is `name`. */
async function children(name: string) {
  const listed = await sfn.send(
    new ListExecutionsCommand({ stateMachineArn: stack.stateMachineArn, maxResults: 1000 }),
  );
  return (listed.executions ?? []).filter((e) => e.name === name);
}

/** After its child ended: one key, Active, the one Vault serves, not the one the user had. */
async function expectRotated(user: SeededUser): Promise<void> {
  const after = await observe(target, user);
  expect(after.accessKeys, user.userName).toHaveLength(1);
  expect(after.accessKeys[0]?.status).toBe('Active');
  expect(after.vault?.accessKeyId).toBe(after.accessKeys[0]?.accessKeyId);
  expect(after.vault?.accessKeyId).not.toBe(user.oldAccessKeyId);
}

const tagged = (tag: string) => ({ tagKey: 'iam-key-rotator:rotate', tagValue: tag });

describe('the fleet machine (statemachine/rotate-fleet.asl.json) on the local Step Functions endpoint', () => {
  it('refuses unknown fields before listing anyone', async () => {
    const run = await runFleet({ maxKeyAgeDays: 90, maxKeyAge: 3 });
    expect(run.status).toBe('FAILED');
    expect(run.error).toBe('InvalidInputError');
    expect(run.cause).toContain('unknown field(s) maxKeyAge');
  });

  it('0 due: nothing started, every user skipped with its reason', async () => {
    await fleetUser('none-young', { tag: 'none', ageDays: 10 });
    await fleetUser('none-untagged', { tag: null, ageDays: 400 });
    const run = await runFleet({ ...tagged('none'), maxKeyAgeDays: 30 });
    expect(run.status).toBe('SUCCEEDED');
    expect(run.summary?.counts).toEqual({
      rotated: 0,
      planned: 0,
      failed: 0,
      alreadyStarted: 0,
      skipped: expect.any(Number),
      deferred: 0,
    });
    expect(run.summary?.skipped).toEqual(
      expect.arrayContaining([
        { userName: 'none-young', reason: 'keyYoung' },
        { userName: 'none-untagged', reason: 'notTagged' },
      ]),
    );
    const started = (await sfn.send(new ListExecutionsCommand({ stateMachineArn: stack.stateMachineArn })))
      .executions;
    expect(started ?? []).toEqual([]);
  });

  it('50 users with mixed ages, tags and a second key: the due ones rotated, a slot freed at each signal', async () => {
    const users: { user: SeededUser; expected: string }[] = [];
    for (let i = 0; i < 50; i++) {
      const name = `mixed-${String(i).padStart(2, '0')}`;
      const kind = i === 7 ? 'twoKeys' : i % 10 === 3 ? 'notTagged' : i % 5 === 1 ? 'keyYoung' : 'due';
      const user = await fleetUser(name, {
        tag: kind === 'notTagged' ? 'other' : 'mixed',
        ageDays: kind === 'keyYoung' ? 20 : 120,
        keys: kind === 'twoKeys' ? 2 : 1,
      });
      users.push({ user, expected: kind });
    }
    const due = users.filter((u) => u.expected === 'due');
    const run = await runFleet({ ...tagged('mixed'), maxKeyAgeDays: 90, maxConcurrency: 10 });
    expect(run.status).toBe('SUCCEEDED');
    expect(run.summary?.rotated.sort()).toEqual(due.map((u) => u.user.userName));
    expect(run.summary?.failed).toEqual([]);
    const skipped = new Map(run.summary?.skipped.map((s) => [s.userName, s.reason]));
    for (const { user, expected } of users.filter((u) => u.expected !== 'due')) {
      expect(skipped.get(user.userName), user.userName).toBe(expected);
    }
    expect(due.length).toBeGreaterThan(30);
    const intervals: [number, number][] = [];
    for (const { user } of due) {
      const [child] = await children(
        childExecutionName(run.executionArn ?? '', stack.aws.accountId, user.userName),
      );
      const ended = await settled(child?.executionArn ?? '');
      expect(ended.status).toBe('SUCCEEDED');
      intervals.push([ended.startDate?.getTime() ?? 0, ended.stopDate?.getTime() ?? 0]);
      await expectRotated(user);
    }
    // A slot is freed at the signal, before the grace wait: more than maxConcurrency children run at once.
    const edges = intervals.flatMap(([start, stop]) => [
      [start, 1],
      [stop, -1],
    ]);
    edges.sort((a, b) => (a[0] ?? 0) - (b[0] ?? 0) || (a[1] ?? 0) - (b[1] ?? 0));
    let running = 0;
    let most = 0;
    for (const [, change] of edges) most = Math.max(most, (running += change ?? 0));
    expect(most).toBeGreaterThan(10);
    expect(run.stopDate?.getTime()).toBeLessThan(Math.max(...intervals.map(([, stop]) => stop)));
  });

  it('a child that fails: the fleet fails FleetRotationIncomplete naming exactly that user, the others rotate', async () => {
    const users: SeededUser[] = [];
    for (let i = 0; i < 5; i++) users.push(await fleetUser(`fault-${i}`, { tag: 'fault', ageDays: 100 }));
    // One at a time, so the third CreateAccessKey is the third user's.
    stack.traffic.addFault('iam:CreateAccessKey:AccessDenied@3');
    let run;
    try {
      run = await runFleet({ ...tagged('fault'), maxConcurrency: 1 });
    } finally {
      stack.traffic.clearFaults();
    }
    expect(run.status).toBe('FAILED');
    expect(run.error).toBe('FleetRotationIncomplete');
    expect(run.cause).toContain('fault-2 (AwsRequestError)');
    for (const other of users.filter((u) => u.userName !== 'fault-2')) {
      expect(run.cause).not.toContain(other.userName);
      const [child] = await children(
        childExecutionName(run.executionArn ?? '', stack.aws.accountId, other.userName),
      );
      expect((await settled(child?.executionArn ?? '')).status).toBe('SUCCEEDED');
      await expectRotated(other);
    }
    const failed = users[2] as SeededUser;
    const after = await observe(target, failed);
    expect(after.accessKeys.map((k) => k.accessKeyId)).toEqual([failed.oldAccessKeyId]);
    expect((await readVaultKey(target, failed.vaultPath))?.accessKeyId).toBe(failed.oldAccessKeyId);
  });

  it('a user whose tags IAM refuses: reported failed with the error name, no child; the others rotate', async () => {
    const users: SeededUser[] = [];
    // Named to be listed first (IAM lists users by name), so the second tags read is listing-1's.
    for (let i = 0; i < 4; i++)
      users.push(await fleetUser(`aaa-listing-${i}`, { tag: 'listing', ageDays: 100 }));
    stack.traffic.addFault('iam:ListUserTags:AccessDenied@2');
    let run;
    try {
      run = await runFleet(tagged('listing'));
    } finally {
      stack.traffic.clearFaults();
    }
    expect(run.status).toBe('FAILED');
    expect(run.error).toBe('FleetRotationIncomplete');
    expect(run.cause).toContain(
      '1 user(s) were not started: aaa-listing-1 (AwsRequestError: iam:ListUserTags',
    );
    const [first, notListed, ...rest] = users;
    for (const other of [first, ...rest] as SeededUser[]) {
      const [child] = await children(
        childExecutionName(run.executionArn ?? '', stack.aws.accountId, other.userName),
      );
      expect((await settled(child?.executionArn ?? '')).status).toBe('SUCCEEDED');
      await expectRotated(other);
    }
    const skipped = notListed as SeededUser;
    expect(
      await children(childExecutionName(run.executionArn ?? '', stack.aws.accountId, skipped.userName)),
    ).toEqual([]);
    expect((await observe(target, skipped)).accessKeys.map((k) => k.accessKeyId)).toEqual([
      skipped.oldAccessKeyId,
    ]);
  });

  it('a retried Map iteration starts no second child: same name, and ExecutionAlreadyExists is "already started"', async () => {
    const user = await fleetUser('retried-0', { tag: 'retried', ageDays: 100 });
    const fleetName = 'retried-fleet';
    const fleetArn = `arn:aws:states:${stack.aws.region}:${stack.aws.accountId}:execution:fleet-retried:${fleetName}`;
    const childName = childExecutionName(fleetArn, stack.aws.accountId, user.userName);
    // The first attempt of the iteration started the child, and its answer was lost: the child runs.
    const machine = stack.aws.stepFunctions.machines.register(
      fleetMachine({
        sfn: stack.aws.stepFunctions,
        rotatorArn: stack.stateMachineArn,
        name: 'fleet-retried',
        handlers: {
          listCandidates: async (event) => {
            const { handler } = await import('../../functions/listCandidates.js');
            const listed = await handler(event);
            // The child as the fleet starts it (its task token aside: the lost attempt's is not known here).
            const input = JSON.stringify({
              userName: user.userName,
              accountId: stack.aws.accountId,
              vaultPath: user.vaultPath,
              dryRun: false,
              fleetTaskToken: 'the-lost-attempts-token',
            });
            const first = await sfn.send(
              new StartExecutionCommand({ stateMachineArn: stack.stateMachineArn, name: childName, input }),
            );
            // Same name, same input: the same execution, not a second one.
            const again = await sfn.send(
              new StartExecutionCommand({ stateMachineArn: stack.stateMachineArn, name: childName, input }),
            );
            expect(again.executionArn).toBe(first.executionArn);
            return listed;
          },
        },
      }),
    );
    const run = await runFleet(tagged('retried'), { name: fleetName, machine });
    expect(run.status).toBe('SUCCEEDED');
    expect(run.summary?.alreadyStarted).toEqual([user.userName]);
    expect(run.summary?.counts.alreadyStarted).toBe(1);
    const started = await children(childName);
    expect(started).toHaveLength(1);
    expect((await settled(started[0]?.executionArn ?? '')).status).toBe('SUCCEEDED');
    await expectRotated(user);
  });

  it('a signal sent twice (or to a fleet that no longer waits) does not fail the child', async () => {
    const user = await fleetUser('twice-0', { tag: 'twice', ageDays: 100 });
    // A token the endpoint never handed out, or one answered already: TaskDoesNotExist.
    const staleToken = Buffer.alloc(96, 7).toString('base64');
    const { executionArn } = await sfn.send(
      new StartExecutionCommand({
        stateMachineArn: stack.stateMachineArn,
        input: JSON.stringify({ userName: user.userName, fleetTaskToken: staleToken }),
      }),
    );
    const ended = await settled(executionArn ?? '');
    expect(ended.status).toBe('SUCCEEDED');
    const events =
      (await sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000 }))).events ?? [];
    expect(events.find((e) => e.type === 'TaskFailed')?.taskFailedEventDetails).toMatchObject({
      resourceType: 'aws-sdk:sfn',
      resource: 'sendTaskSuccess',
      error: 'Sfn.TaskDoesNotExistException',
    });
    expect(JSON.stringify(events)).not.toContain('"fleetSignal":{"sent"');
    await expectRotated(user);
  });
});

describe('the fleet places each user where its key is served, and trusts no tag or name it cannot prove (issue 16)', () => {
  const fleetArnOf = (name: string) =>
    `${stack.fleetStateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
  const childName = (fleetArn: string, user: SeededUser) =>
    childExecutionName(fleetArn, stack.aws.accountId, user.userName);

  /** The user's child of this fleet ended SUCCEEDED and left the user rotated. */
  async function expectChildRotated(fleetArn: string, user: SeededUser): Promise<void> {
    const [child] = await children(childName(fleetArn, user));
    expect((await settled(child?.executionArn ?? '')).status, user.userName).toBe('SUCCEEDED');
    await expectRotated(user);
  }

  /**
   * A claim stays fresh for 15 minutes after a rotation, holding the user back from a fleet. The
   * emulated IAM has no UntagUser: backdating the claim tag stands in for the wait (its MAC then
   * no longer matches, and a claim that does not verify is no claim, as a stale one is none).
   */
  async function forgetClaim(userName: string): Promise<void> {
    await iam.send(
      new TagUserCommand({
        UserName: userName,
        Tags: [{ Key: 'iam-key-rotator:claim', Value: new Date(Date.now() - DAY_MS).toISOString() }],
      }),
    );
  }

  /** A user the fleet must not touch: its one key as seeded, served where it was, no claim written. */
  async function expectUntouched(user: SeededUser): Promise<void> {
    const after = await observe(target, user);
    expect(
      after.accessKeys.map((k) => [k.accessKeyId, k.status]),
      user.userName,
    ).toEqual([[user.oldAccessKeyId, 'Active']]);
    expect(after.vault?.accessKeyId).toBe(user.oldAccessKeyId);
    expect(Object.keys(await tagsOf(user.userName))).not.toContain('iam-key-rotator:claim');
  }

  it('a never-pinned user served at a custom path: reported failed for adoption, no child, untouched; the others rotated', async () => {
    const vendor = await fleetUser('adopt-vendor', {
      tag: 'adopt',
      ageDays: 120,
      vaultPath: 'aws/iam-users/vendors/adopt-vendor',
    });
    const others = [
      await fleetUser('adopt-0', { tag: 'adopt', ageDays: 120 }),
      await fleetUser('adopt-1', { tag: 'adopt', ageDays: 120 }),
    ];
    const run = await runFleet(tagged('adopt'), { name: 'adopt-fleet' });
    expect(run.status).toBe('FAILED');
    expect(run.error).toBe('FleetRotationIncomplete');
    expect(run.cause).toContain(
      "1 user(s) were not started: adopt-vendor (InvalidInputError: 'adopt-vendor' has no iam-key-rotator:vault-path tag and vaultPath aws/iam-users/adopt-vendor serves no key",
    );
    expect(run.cause).toContain('"adoptVaultPath": true');
    expect(await children(childName(run.executionArn ?? '', vendor))).toEqual([]);
    await expectUntouched(vendor);
    expect(await readVaultKey(target, 'aws/iam-users/adopt-vendor')).toBeNull();
    for (const other of others) {
      expect(run.cause).not.toContain(other.userName);
      await expectChildRotated(run.executionArn ?? '', other);
    }
  });

  it('the same user once rotated at its custom path (pinned): the fleet rotates it there', async () => {
    const vendorPath = 'aws/iam-users/vendors/pinned-vendor';
    const vendor = await fleetUser('pinned-vendor', { tag: 'pinned', ageDays: 120, vaultPath: vendorPath });
    const other = await fleetUser('pinned-0', { tag: 'pinned', ageDays: 120 });
    const first = await rotateDirectly({ userName: vendor.userName, vaultPath: vendorPath });
    expect(first.status, first.cause).toBe('SUCCEEDED');
    expect((await tagsOf(vendor.userName))['iam-key-rotator:vault-path']).toBe(vendorPath);
    const pinnedKey = (await readVaultKey(target, vendorPath))?.accessKeyId;
    await forgetClaim(vendor.userName);
    await age(vendor.userName, 120);
    const run = await runFleet(tagged('pinned'));
    expect(run.status, run.cause).toBe('SUCCEEDED');
    expect(run.summary?.rotated.sort()).toEqual([other.userName, vendor.userName].sort());
    const [child] = await children(childName(run.executionArn ?? '', vendor));
    const ended = await settled(child?.executionArn ?? '');
    expect(ended.status).toBe('SUCCEEDED');
    expect(JSON.parse(ended.input ?? '{}')).toMatchObject({
      userName: vendor.userName,
      vaultPath: vendorPath,
    });
    await expectRotated({ ...vendor, oldAccessKeyId: pinnedKey ?? null });
    expect(await readVaultKey(target, 'aws/iam-users/pinned-vendor')).toBeNull();
    await expectChildRotated(run.executionArn ?? '', other);
  });

  it('a pin rewritten by a tagger: reported failed as changed outside the rotator, no child, untouched; the others rotated', async () => {
    const victim = await fleetUser('tamper-victim', { tag: 'tamper', ageDays: 120 });
    const other = await fleetUser('tamper-0', { tag: 'tamper', ageDays: 120 });
    const first = await rotateDirectly({ userName: victim.userName });
    expect(first.status, first.cause).toBe('SUCCEEDED');
    expect(Object.keys(await tagsOf(victim.userName))).toContain('iam-key-rotator:vault-path-mac');
    await age(victim.userName, 120);
    // Someone allowed iam:TagUser points the pin elsewhere (and backdates the claim).
    await iam.send(
      new TagUserCommand({
        UserName: victim.userName,
        Tags: [
          { Key: 'iam-key-rotator:vault-path', Value: 'aws/iam-users/attacker' },
          { Key: 'iam-key-rotator:claim', Value: new Date(Date.now() - DAY_MS).toISOString() },
        ],
      }),
    );
    const before = await observe(target, victim);
    const tagsBefore = await tagsOf(victim.userName);
    const run = await runFleet(tagged('tamper'));
    expect(run.status).toBe('FAILED');
    expect(run.error).toBe('FleetRotationIncomplete');
    expect(run.cause).toContain(
      "tamper-victim (InvalidInputError: the pin of 'tamper-victim' was changed outside the rotator",
    );
    expect(run.cause).not.toContain(other.userName);
    expect(await children(childName(run.executionArn ?? '', victim))).toEqual([]);
    expect(await observe(target, victim)).toEqual(before);
    expect(await tagsOf(victim.userName)).toEqual(tagsBefore);
    expect(await readVaultKey(target, 'aws/iam-users/attacker')).toBeNull();
    await expectChildRotated(run.executionArn ?? '', other);
  });

  it('a forged fresh claim (no valid MAC) does not hold the user back as rotationRunning', async () => {
    const user = await fleetUser('forged-claim', { tag: 'forged', ageDays: 120 });
    await iam.send(
      new TagUserCommand({
        UserName: user.userName,
        Tags: [
          {
            Key: 'iam-key-rotator:execution',
            Value: 'arn:aws:states:us-east-1:123456789012:execution:x:y abc',
          },
          { Key: 'iam-key-rotator:claim', Value: `${new Date().toISOString()} ${user.oldAccessKeyId ?? ''}` },
          { Key: 'iam-key-rotator:claim-mac', Value: `v1 ${Buffer.alloc(32, 1).toString('base64')}` },
        ],
      }),
    );
    const run = await runFleet(tagged('forged'));
    expect(run.status, run.cause).toBe('SUCCEEDED');
    expect(run.summary?.skipped).not.toContainEqual({ userName: user.userName, reason: 'rotationRunning' });
    expect(run.summary?.rotated).toEqual([user.userName]);
    await expectChildRotated(run.executionArn ?? '', user);
  });

  it('a dry run started by someone else under a child’s predicted name: that user failed ExecutionNameTakenError, not already started', async () => {
    const user = await fleetUser('taken-name', { tag: 'taken', ageDays: 120 });
    const other = await fleetUser('taken-0', { tag: 'taken', ageDays: 120 });
    const fleetName = 'taken-name-fleet';
    const name = childName(fleetArnOf(fleetName), user);
    // Anyone allowed StartExecution can compute the name from the fleet's and start a harmless-looking dry run.
    const squatter = await rotateDirectly({ userName: user.userName, dryRun: true }, name);
    expect(squatter.status).toBe('SUCCEEDED');
    const run = await runFleet(tagged('taken'), { name: fleetName });
    expect(run.executionArn).toBe(fleetArnOf(fleetName));
    expect(run.status).toBe('FAILED');
    expect(run.error).toBe('FleetRotationIncomplete');
    expect(run.cause).toContain('taken-name (ExecutionNameTakenError)');
    expect(run.cause).not.toContain(other.userName);
    // Only the squatter's execution holds the name; the user was not rotated.
    expect((await children(name)).map((e) => e.executionArn)).toEqual([squatter.executionArn]);
    await expectUntouched(user);
    await expectChildRotated(run.executionArn ?? '', other);
  });
});
