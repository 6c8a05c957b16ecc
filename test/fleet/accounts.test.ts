import {
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { childExecutionName } from '../../functions/commons/fleet-input.js';
import type { AccountSummary, FleetSummary } from '../../functions/summarizeFleet.js';
import { functionRoleArn } from '../../local-stack/function-roles.js';
import { localTarget, readVaultKey, type Target, USER_PATH } from '../../local-stack/provision.js';
import { prepareTarget } from '../../local-stack/rotation.js';
import { runFleetCli } from '../support/fleet-cli.js';
import { type LocalStack, startLocalStack } from '../../local-stack/stack.js';
import {
  type AccountUser,
  accountUser as makeAccountUser,
  settled as settledOn,
  TAG_KEY,
} from './support.js';

// Two member accounts, both allowed: 222222222222 has the target role (deploy/target-account.yml's
// documents), 333333333333 has none, so listCandidates cannot assume its way in.
const MEMBER = '222222222222';
const NO_ROLE = '333333333333';

let stack: LocalStack;
let target: Target;
let sfn: SFNClient;
let home: string;

beforeAll(async () => {
  stack = await startLocalStack({
    memberAccountIds: [MEMBER, NO_ROLE],
    stepFunctions: { waitMs: 0, retryPauseMs: 0 },
  });
  home = stack.aws.accountId;
  // The per-account Vault layout: alice of two accounts has two paths.
  process.env.VAULT_PATH_TEMPLATE = '{prefix}{accountId}/{userName}';
  target = localTarget(stack, {
    allowedAccountIds: [MEMBER, NO_ROLE],
    memberAccounts: [{ accountId: MEMBER, credentials: stack.aws.account(MEMBER).adminCredentials }],
  });
  await prepareTarget(target);
  sfn = new SFNClient({
    region: stack.aws.region,
    endpoint: stack.aws.endpoint,
    credentials: stack.aws.adminCredentials,
  });
});

afterAll(async () => {
  await stack.close();
});

/** A user of `accountId` under the rotated path, tagged, its key `ageDays` old, served at its account's path. */
const accountUser = (accountId: string, userName: string, options: { tag: string; ageDays: number }) =>
  makeAccountUser({ stack, target }, accountId, userName, options);

const settled = (executionArn: string) => settledOn(sfn, executionArn);

/** Runs the fleet to its end; the summary is SummarizeFleet's output (a failed fleet has no output). */
async function runFleet(input: Record<string, unknown>) {
  const started = Date.now();
  const { executionArn = '' } = await sfn.send(
    new StartExecutionCommand({ stateMachineArn: stack.fleetStateMachineArn, input: JSON.stringify(input) }),
  );
  const described = await settled(executionArn);
  const events = (await sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000 }))).events;
  const exited = events?.find(
    (e) => e.type === 'TaskStateExited' && e.stateExitedEventDetails?.name === 'Summarize',
  );
  const output = exited?.stateExitedEventDetails?.output;
  const summary = output ? (JSON.parse(output) as FleetSummary) : undefined;
  return { ...described, executionArn, summary, ms: Date.now() - started };
}

/** The child of `fleetArn` for the user, settled; undefined when it was never started. */
async function childOf(fleetArn: string, user: AccountUser) {
  const name = childExecutionName(fleetArn, user.accountId, user.userName);
  const arn = `arn:aws:states:${stack.aws.region}:${home}:execution:${stack.stateMachineArn.split(':').pop() ?? ''}:${name}`;
  try {
    return await settled(arn);
  } catch (error) {
    if ((error as Error).name === 'ExecutionDoesNotExist') return undefined;
    throw error;
  }
}

/** Rotated in its own account: one Active key, new, that account's, the one the account's Vault path serves. */
async function expectRotated(user: AccountUser): Promise<string> {
  const keys = stack.aws.account(user.accountId).listAccessKeys(user.userName);
  const label = `${user.accountId}/${user.userName}`;
  expect(
    keys.map((k) => k.status),
    label,
  ).toEqual(['Active']);
  const newKey = keys[0]?.accessKeyId ?? '';
  expect(newKey, label).not.toBe(user.oldAccessKeyId);
  expect((await readVaultKey(target, user.vaultPath))?.accessKeyId, label).toBe(newKey);
  return newKey;
}

/** Untouched: its one key as it was, Vault serving it. */
async function expectUnchanged(user: AccountUser): Promise<void> {
  const keys = stack.aws.account(user.accountId).listAccessKeys(user.userName);
  expect(keys.map((k) => [k.accessKeyId, k.status])).toEqual([[user.oldAccessKeyId, 'Active']]);
  expect((await readVaultKey(target, user.vaultPath))?.accessKeyId).toBe(user.oldAccessKeyId);
}

const accountOf = (summary: FleetSummary | undefined, accountId: string): AccountSummary | undefined =>
  summary?.accounts.find((a) => a.accountId === accountId);

describe('the fleet across accounts (statemachine/rotate-fleet.asl.json on the local stack)', () => {
  it('allowedAccounts: each due user rotated in its own account; the account without a target role reported TargetAccountAccessError, its users untouched', async () => {
    const homeUsers = [
      await accountUser(home, 'alice', { tag: 'all', ageDays: 120 }),
      await accountUser(home, 'home-only', { tag: 'all', ageDays: 120 }),
    ];
    await accountUser(home, 'home-young', { tag: 'all', ageDays: 5 });
    const memberUsers = [
      await accountUser(MEMBER, 'alice', { tag: 'all', ageDays: 120 }),
      await accountUser(MEMBER, 'member-only', { tag: 'all', ageDays: 120 }),
    ];
    const noRoleUsers = [
      await accountUser(NO_ROLE, 'alice', { tag: 'all', ageDays: 120 }),
      await accountUser(NO_ROLE, 'stranded', { tag: 'all', ageDays: 120 }),
    ];
    const noRoleBefore = stack.aws.account(NO_ROLE).snapshot();
    stack.aws.clearAuthorizationLog();

    const run = await runFleet({
      tagKey: TAG_KEY,
      tagValue: 'all',
      maxKeyAgeDays: 90,
      allowedAccounts: true,
    });

    expect(run.status).toBe('FAILED');
    expect(run.error).toBe('FleetRotationIncomplete');
    expect(run.cause).toContain(`${NO_ROLE} (TargetAccountAccessError: `);
    expect(run.cause).toContain(`arn:aws:iam::${NO_ROLE}:role/iam-key-rotator-target`);
    expect(run.cause).not.toContain('rotations failed');
    expect(run.cause).not.toContain(MEMBER);

    // The summary, by account: the listed ones in the order asked for, then the one not listed.
    const summary = run.summary;
    expect(summary?.accounts.map((a) => a.accountId)).toEqual([home, MEMBER, NO_ROLE]);
    expect(accountOf(summary, home)?.rotated.sort()).toEqual(['alice', 'home-only']);
    expect(accountOf(summary, home)?.skipped).toEqual([{ userName: 'home-young', reason: 'keyYoung' }]);
    expect(accountOf(summary, MEMBER)).toMatchObject({
      rotated: expect.arrayContaining(['alice', 'member-only']),
      failed: [],
      skipped: [],
    });
    expect(accountOf(summary, MEMBER)?.error).toBeUndefined();
    expect(accountOf(summary, NO_ROLE)).toMatchObject({
      error: 'TargetAccountAccessError',
      rotated: [],
      failed: [],
      counts: { rotated: 0, planned: 0, failed: 0, alreadyStarted: 0, skipped: 0 },
    });
    expect(summary?.failedAccounts).toEqual([
      { accountId: NO_ROLE, error: 'TargetAccountAccessError', cause: expect.any(String) },
    ]);
    expect(summary?.counts).toMatchObject({ rotated: 4, failed: 0 });

    // Each rotated in its own account, stored at its account's path: alice has two new keys.
    const newKeys = new Map<string, string>();
    for (const user of [...homeUsers, ...memberUsers]) {
      expect((await childOf(run.executionArn, user))?.status).toBe('SUCCEEDED');
      newKeys.set(`${user.accountId}/${user.userName}`, await expectRotated(user));
    }
    expect(newKeys.get(`${home}/alice`)).not.toBe(newKeys.get(`${MEMBER}/alice`));
    expect(await readVaultKey(target, `${target.pathPrefix}alice`)).toBeNull();

    // 333333333333: no child started, nothing written, its users as they were.
    for (const user of noRoleUsers) {
      expect(await childOf(run.executionArn, user)).toBeUndefined();
      await expectUnchanged(user);
    }
    expect(stack.aws.account(NO_ROLE).snapshot()).toEqual(noRoleBefore);

    // The fleet's functions ran as their own roles: listCandidates listed at home as itself and in
    // 222222222222 through the target role, and its one refusal is the AssumeRole into 333333333333.
    const listCandidates = functionRoleArn(home, 'listCandidates');
    const memberRole = `arn:aws:iam::${MEMBER}:role/iam-key-rotator-target`;
    expect(stack.aws.allowedActions()).toEqual(
      expect.arrayContaining([
        { roleArn: listCandidates, action: 'iam:ListUsers' },
        { roleArn: listCandidates, action: 'sts:AssumeRole' },
        { roleArn: memberRole, action: 'iam:ListUsers' },
        { roleArn: memberRole, action: 'iam:CreateAccessKey' },
      ]),
    );
    expect(stack.aws.denials()).toEqual([
      expect.objectContaining({
        action: 'sts:AssumeRole',
        roleArn: listCandidates,
        resource: `arn:aws:iam::${NO_ROLE}:role/iam-key-rotator-target`,
        reason: 'untrusted',
      }),
    ]);
  });

  it('accountIds: only the accounts named are listed; one account alone that cannot be listed is reported, nothing started', async () => {
    const homeUser = await accountUser(home, 'ids-home', { tag: 'ids', ageDays: 120 });
    const memberUser = await accountUser(MEMBER, 'ids-member', { tag: 'ids', ageDays: 120 });
    const noRoleUser = await accountUser(NO_ROLE, 'ids-no-role', { tag: 'ids', ageDays: 120 });

    const run = await runFleet({ tagKey: TAG_KEY, tagValue: 'ids', accountIds: [MEMBER] });
    expect(run.status).toBe('SUCCEEDED');
    expect(run.summary?.accounts.map((a) => a.accountId)).toEqual([MEMBER]);
    expect(run.summary?.rotated).toEqual(['ids-member']);
    expect(run.summary?.failedAccounts).toEqual([]);
    expect((await childOf(run.executionArn, memberUser))?.status).toBe('SUCCEEDED');
    await expectRotated(memberUser);
    expect(await childOf(run.executionArn, homeUser)).toBeUndefined();
    await expectUnchanged(homeUser);

    // One account alone is reported like any other: the fleet ends naming it, nothing started.
    const alone = await runFleet({ tagKey: TAG_KEY, tagValue: 'ids', accountIds: [NO_ROLE] });
    expect(alone.status).toBe('FAILED');
    expect(alone.error).toBe('FleetRotationIncomplete');
    expect(alone.cause).toContain(
      `1 account(s) could not be listed, so none of their users was started: ${NO_ROLE} (TargetAccountAccessError: `,
    );
    expect(alone.summary?.accounts).toEqual([
      expect.objectContaining({ accountId: NO_ROLE, error: 'TargetAccountAccessError' }),
    ]);
    expect(await childOf(alone.executionArn, noRoleUser)).toBeUndefined();
    await expectUnchanged(noRoleUser);
  });

  it('a child that fails in a member account: named with its account, the other users of every account rotated', async () => {
    const homeUser = await accountUser(home, 'fail-home', { tag: 'fail', ageDays: 120 });
    const memberUsers = [
      await accountUser(MEMBER, 'fail-a', { tag: 'fail', ageDays: 120 }),
      await accountUser(MEMBER, 'fail-b', { tag: 'fail', ageDays: 120 }),
    ];
    // One at a time, the home account's user first: the second CreateAccessKey is a member's.
    stack.traffic.addFault('iam:CreateAccessKey:AccessDenied@2');
    let run;
    try {
      run = await runFleet({
        tagKey: TAG_KEY,
        tagValue: 'fail',
        accountIds: [home, MEMBER],
        maxConcurrency: 1,
      });
    } finally {
      stack.traffic.clearFaults();
    }

    expect(run.status).toBe('FAILED');
    expect(run.error).toBe('FleetRotationIncomplete');
    const failed = accountOf(run.summary, MEMBER)?.failed ?? [];
    expect(failed).toEqual([{ userName: expect.stringMatching(/^fail-[ab]$/), error: 'AwsRequestError' }]);
    const failedUser = memberUsers.find((u) => u.userName === failed[0]?.userName) as AccountUser;
    expect(run.cause).toContain(
      `1 of 3 rotations failed before their new key was stored and verified: ${MEMBER}/${failedUser.userName} (AwsRequestError)`,
    );
    expect(run.cause).not.toContain('could not be listed');
    expect(run.summary?.failedAccounts).toEqual([]);
    expect(accountOf(run.summary, home)?.rotated).toEqual(['fail-home']);
    expect((await childOf(run.executionArn, failedUser))?.status).toBe('FAILED');
    await expectUnchanged(failedUser);
    // The fleet ends at the last signal: the others' children retire their old keys after it.
    for (const other of [homeUser, ...memberUsers.filter((u) => u !== failedUser)]) {
      expect((await childOf(run.executionArn, other))?.status).toBe('SUCCEEDED');
      await expectRotated(other);
    }
  });

  it('STS throttling AssumeRole past the SDK’s retries: listCandidates tries again and lists the member account', async () => {
    const memberUser = await accountUser(MEMBER, 'sts-member', { tag: 'sts', ageDays: 120 });
    await accountUser(NO_ROLE, 'sts-no-role', { tag: 'sts', ageDays: 120 });
    stack.traffic.resetCalls();
    // The first AssumeRole calls are listCandidates' (children start after the listing).
    stack.traffic.addFault('sts:AssumeRole:Throttlingx3');
    let run;
    try {
      run = await runFleet({ tagKey: TAG_KEY, tagValue: 'sts', accountIds: [home, MEMBER] });
    } finally {
      stack.traffic.clearFaults();
    }

    expect(run.status).toBe('SUCCEEDED');
    expect(run.summary?.rotated).toEqual(['sts-member']);
    expect(stack.traffic.calls()['sts:AssumeRole']).toBeGreaterThan(3);
    expect((await childOf(run.executionArn, memberUser))?.status).toBe('SUCCEEDED');
    await expectRotated(memberUser);
  });

  it('a dry run across accounts: each due user planned in its own account, nothing changed in any account', async () => {
    await accountUser(home, 'dry-home', { tag: 'dry', ageDays: 120 });
    await accountUser(MEMBER, 'dry-member', { tag: 'dry', ageDays: 120 });
    await accountUser(NO_ROLE, 'dry-no-role', { tag: 'dry', ageDays: 120 });
    // The rotated users of every account: their tags and keys (local-admin's own key records its use).
    const snapshots = () =>
      [home, MEMBER, NO_ROLE].map((id) =>
        stack.aws
          .account(id)
          .snapshot()
          .users.filter((u) => u.path === USER_PATH),
      );
    const before = snapshots();
    stack.traffic.resetCalls();

    const run = await runFleet({ tagKey: TAG_KEY, tagValue: 'dry', allowedAccounts: true, dryRun: true });

    expect(run.error).toBe('FleetRotationIncomplete');
    expect(run.summary?.dryRun).toBe(true);
    expect(accountOf(run.summary, home)?.planned).toEqual(['dry-home']);
    expect(accountOf(run.summary, MEMBER)?.planned).toEqual(['dry-member']);
    expect(accountOf(run.summary, NO_ROLE)?.error).toBe('TargetAccountAccessError');
    expect(snapshots()).toEqual(before);
    const writes = Object.keys(stack.traffic.calls()).filter((c) =>
      /^iam:(Create|Update|Delete|Tag|Untag)/.test(c),
    );
    expect(writes).toEqual([]);
  });

  it('rotate-fleet --accounts (the CLI, end to end): the summary by account, the account not listed named, exit 1', async () => {
    const memberUser = await accountUser(MEMBER, 'cli-member', { tag: 'cli', ageDays: 120 });
    const noRoleUser = await accountUser(NO_ROLE, 'cli-no-role', { tag: 'cli', ageDays: 120 });
    const run = await runFleetCli(stack, [
      ...['rotate-fleet', '--accounts', `${MEMBER},${NO_ROLE}`],
      ...['--tag', `${TAG_KEY}=cli`, '--max-key-age-days', '90', '--wait', '--poll-ms', '50'],
    ]);

    expect(run.code).toBe(1);
    // The member account's users of the other tests are skipped as not tagged.
    expect(run.stdout).toMatch(new RegExp(`^${MEMBER} +1 +0 +\\d+ +0$`, 'm'));
    expect(run.stdout).toMatch(/^ {2}rotated +cli-member$/m);
    expect(run.stdout).toContain(
      `${NO_ROLE}  not listed: TargetAccountAccessError (none of its users was started)`,
    );
    expect(run.stdout).toMatch(
      /^2 accounts \(1 listed, 1 not listed\): rotated 1 · failed 0 · skipped \d+ · deferred 0$/m,
    );
    expect(run.stdout).toContain(`fleet FAILED: FleetRotationIncomplete: 1 account(s) could not be listed`);
    expect(run.stderr).toContain('accounts listed 1/2 (1 not listed)');
    const listed = await sfn.send(
      new ListExecutionsCommand({ stateMachineArn: stack.stateMachineArn, maxResults: 1000 }),
    );
    const children = (listed.executions ?? []).filter((e) => e.name?.endsWith('-cli-member'));
    expect(children).toHaveLength(1);
    expect((await settled(children[0]?.executionArn ?? '')).status).toBe('SUCCEEDED');
    await expectRotated(memberUser);
    await expectUnchanged(noRoleUser);
  });
});
