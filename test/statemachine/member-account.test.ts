import { GetUserCommand, IAMClient, TagUserCommand, UpdateAccessKeyCommand } from '@aws-sdk/client-iam';
import policies from '../../deploy/policies.cjs';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { functionRoleArn, LOCAL_TARGET_ROLE_NAME } from '../../local-stack/function-roles.js';
import {
  LOCAL_TARGET_EXTERNAL_ID,
  localTarget,
  type Provisioned,
  readVaultKey,
  type SeededUser,
  seedUser,
  type Target,
  USER_PATH,
} from '../../local-stack/provision.js';
import type { Handler } from '../../local-stack/lambda.js';
import {
  prepareTarget,
  rotate,
  type RotateOptions,
  type RotationReport,
} from '../../local-stack/rotation.js';
import { type LocalStack, startLocalStack } from '../../local-stack/stack.js';
import { loadHandlers } from '../../local-stack/state-machine.js';
import { expectInvariants, newKeyId } from '../support/invariants.js';
import { type TestStack, vaultSecrets } from '../support/local-stack.js';
import { CLEANUP_FAILED, HAPPY_PATH } from '../support/paths.js';

// One stack for the file: the rotator's home account and three member accounts, each with the
// target role made from deploy/policies.cjs as deploy/target-account.yml makes it.
const MEMBER = '222222222222';
/** Allowed, but its target role expects another ExternalId than the rotator's. */
const WRONG_EXTERNAL_ID = '333333333333';
/** Not allowed by the deployment, though its target role would trust the rotator. */
const NOT_ALLOWED = '444444444444';
const TARGET_ROLE = (account: string) => `arn:aws:iam::${account}:role/${LOCAL_TARGET_ROLE_NAME}`;
const { VAULT_PATH_TAG_KEY } = policies;
const WRITES = ['iam:CreateAccessKey', 'iam:TagUser', 'iam:UpdateAccessKey', 'iam:DeleteAccessKey'];

let stack: LocalStack;
let target: Target;
let provisioned: Provisioned;

beforeAll(async () => {
  stack = await startLocalStack({ memberAccountIds: [MEMBER, WRONG_EXTERNAL_ID, NOT_ALLOWED] });
  const member = (accountId: string, externalId?: string) => ({
    accountId,
    credentials: stack.aws.account(accountId).adminCredentials,
    ...(externalId ? { externalId } : {}),
  });
  target = localTarget(stack, {
    vaultPathTemplate: '{prefix}{accountId}/{userName}',
    allowedAccountIds: [MEMBER, WRONG_EXTERNAL_ID],
    memberAccounts: [member(MEMBER), member(WRONG_EXTERNAL_ID, 'another-external-id'), member(NOT_ALLOWED)],
  });
  provisioned = await prepareTarget(target);
});
afterAll(async () => {
  await stack.close();
});
beforeEach(() => {
  stack.aws.clearAuthorizationLog();
});

/** What expectInvariants needs of a test stack, for this file's stack. */
const ctx = {
  get stack() {
    return stack;
  },
  get target() {
    return target;
  },
  async vaultKey(user: SeededUser) {
    const served = await readVaultKey(target, user.vaultPath);
    return served ? { accessKeyId: served.accessKeyId, secretAccessKey: served.secretAccessKey } : null;
  },
  async works(key: { accessKeyId: string; secretAccessKey: string }) {
    const sts = new STSClient({ region: stack.aws.region, endpoint: stack.aws.endpoint, credentials: key });
    return sts.send(new GetCallerIdentityCommand({})).then(
      () => true,
      () => false,
    );
  },
  knownSecrets: () => vaultSecrets(stack),
} as TestStack;

const rotateIn = (user: SeededUser, accountId: string, options: Partial<RotateOptions> = {}) =>
  rotate({
    target,
    stack,
    user,
    input: { userName: user.userName, accountId },
    waitMs: 0,
    retryPauseMs: 0,
    ...options,
  });

/** An account's users and their keys' ids and status (local-admin's last use changes with every seeding). */
const usersOf = (accountId: string) =>
  stack.aws
    .account(accountId)
    .snapshot()
    .users.map((u) => ({ ...u, accessKeys: u.accessKeys.map((k) => [k.accessKeyId, k.status]) }));
const allUsers = () => [stack.aws.accountId, MEMBER, WRONG_EXTERNAL_ID, NOT_ALLOWED].map(usersOf);

const writesIn = (calls: Record<string, number>) => WRITES.filter((action) => calls[action] !== undefined);

/** STS as createKey's own role signs (what Lambda gives the function). */
function stsAsCreateKey(): STSClient {
  const role = provisioned.functionEnvironment.createKey;
  return new STSClient({
    region: stack.aws.region,
    endpoint: stack.aws.endpoint,
    maxAttempts: 1,
    credentials: {
      accessKeyId: role?.AWS_ACCESS_KEY_ID ?? '',
      secretAccessKey: role?.AWS_SECRET_ACCESS_KEY ?? '',
      sessionToken: role?.AWS_SESSION_TOKEN ?? '',
    },
  });
}

describe('a rotation in a member account', () => {
  it('creates, stores, verifies and retires keys in 222222222222 only, each step as its own session of the target role', async () => {
    const home = await seedUser(target, 'member-alice');
    const user = await seedUser(target, 'member-alice', { accountId: MEMBER });
    const homeVaultBefore = await readVaultKey(target, home.vaultPath);
    const homeBefore = usersOf(stack.aws.accountId);

    const report = await rotateIn(user, MEMBER);

    expect(report.status).toBe('SUCCEEDED');
    expect(report.states).toEqual(HAPPY_PATH);
    // The key was made in 222 and Vault serves it at that account's path.
    expect(user.vaultPath).toBe(`aws/iam-users/${MEMBER}/member-alice`);
    const newKey = report.after.vault?.accessKeyId;
    expect(newKey).toBeDefined();
    expect(newKey).not.toBe(user.oldAccessKeyId);
    const memberUser = stack.aws
      .account(MEMBER)
      .snapshot()
      .users.find((u) => u.userName === 'member-alice');
    expect(memberUser?.accessKeys.map((k) => [k.accessKeyId, k.status])).toEqual([[newKey, 'Active']]);
    // VerifyKey found the new key to be 222's user.
    const verified = report.history.find((e) => e.type === 'StateExited' && e.state?.name === 'VerifyKey');
    expect((verified?.state?.output as { verified?: { arn?: string } }).verified?.arn).toBe(
      `arn:aws:iam::${MEMBER}:user${USER_PATH}member-alice`,
    );
    await expectInvariants(ctx, user, report);

    // Nothing changed at home: the same-named user, its key and its Vault path are as they were.
    expect(usersOf(stack.aws.accountId)).toEqual(homeBefore);
    expect(await readVaultKey(target, home.vaultPath)).toEqual(homeVaultBefore);
    const allowed = stack.aws.allowedActions();
    const homeRoles = `arn:aws:iam::${stack.aws.accountId}:`;
    expect(allowed.filter((a) => a.roleArn.startsWith(homeRoles) && a.action.startsWith('iam:'))).toEqual([]);
    expect(stack.aws.denials()).toEqual([]);

    // Every IAM call in 222 was the target role's; each step set its own SourceIdentity, which the
    // trust policy requires for that step's role (and the role's policy for each statement).
    expect(
      allowed
        .filter((a) => a.roleArn === TARGET_ROLE(MEMBER))
        .map((a) => a.action)
        .sort(),
    ).toEqual(
      expect.arrayContaining([
        'iam:CreateAccessKey',
        'iam:DeleteAccessKey',
        'iam:GetUser',
        'iam:UpdateAccessKey',
      ]),
    );
    expect(
      allowed.filter((a) => a.action.startsWith('iam:')).every((a) => a.roleArn === TARGET_ROLE(MEMBER)),
    ).toBe(true);
    for (const step of ['createKey', 'verifyKey', 'deactivateOld', 'deleteOld'] as const) {
      const role = functionRoleArn(stack.aws.accountId, step);
      expect(allowed, step).toContainEqual({ roleArn: role, action: 'sts:AssumeRole' });
      expect(allowed, step).toContainEqual({ roleArn: role, action: 'sts:SetSourceIdentity' });
    }
  });
});

describe('a member account the rotator may not use', () => {
  it('fails with TargetAccountAccessError and zero IAM writes anywhere when the role expects another ExternalId', async () => {
    const user = await seedUser(target, 'wrong-external-id', { accountId: WRONG_EXTERNAL_ID });
    const before = allUsers();

    const report = await rotateIn(user, WRONG_EXTERNAL_ID);

    expect(report.status).toBe('FAILED');
    expect(report.error?.Error).toBe('TargetAccountAccessError');
    expect(report.error?.Cause).toContain(TARGET_ROLE(WRONG_EXTERNAL_ID));
    // DiscardLeftovers is refused the same way: the cause says it could not check.
    expect(report.states).toEqual(CLEANUP_FAILED);
    expect(report.error?.Cause).toContain(
      'DiscardLeftovers could not check for keys this execution created (TargetAccountAccessError: ',
    );
    expect(writesIn(report.calls)).toEqual([]);
    expect(allUsers()).toEqual(before);
    expect(report.after).toEqual(report.before);
    expect(stack.aws.denials()).toContainEqual(
      expect.objectContaining({
        action: 'sts:AssumeRole',
        resource: TARGET_ROLE(WRONG_EXTERNAL_ID),
        reason: 'untrusted',
      }),
    );
  });

  it('refuses an account the deployment does not allow with InvalidInputError, before any call', async () => {
    const user = await seedUser(target, 'not-allowed', { accountId: NOT_ALLOWED });
    const before = allUsers();

    const report = await rotateIn(user, NOT_ALLOWED);

    expect(report.status).toBe('FAILED');
    expect(report.error?.Error).toBe('InvalidInputError');
    expect(report.error?.Cause).toContain(
      `accountId: ${NOT_ALLOWED} is not an account this deployment may rotate in`,
    );
    expect(report.states).toEqual(['ValidateInput', 'InputRejected']);
    expect(report.calls).toEqual({});
    expect(allUsers()).toEqual(before);
  });
});

describe('the target role in a member account', () => {
  it('cannot touch a user outside the rotated path: the rotation fails with UserNotFoundError and the user is unchanged', async () => {
    const member = stack.aws.account(MEMBER);
    member.createUser('outsider', '/other/');
    const oldKey = member.createAccessKey('outsider');
    const before = member.listAccessKeys('outsider');
    const user: SeededUser = {
      userName: 'outsider',
      vaultPath: `aws/iam-users/${MEMBER}/outsider`,
      oldAccessKeyId: oldKey.accessKeyId,
      accountId: MEMBER,
    };

    const report = await rotateIn(user, MEMBER);

    expect(report.status).toBe('FAILED');
    expect(report.error?.Error).toBe('UserNotFoundError');
    expect(writesIn(report.calls)).toEqual([]);
    expect(member.listAccessKeys('outsider')).toEqual(before);
    expect(stack.aws.denials()).toContainEqual(
      expect.objectContaining({ action: 'iam:GetUser', roleArn: TARGET_ROLE(MEMBER) }),
    );
  });

  it('refuses createKey’s session what only deactivateOld may do (UpdateAccessKey)', async () => {
    const user = await seedUser(target, 'direct-check', { accountId: MEMBER });
    const sts = stsAsCreateKey();
    const session = await sts.send(
      new AssumeRoleCommand({
        RoleArn: TARGET_ROLE(MEMBER),
        RoleSessionName: 'iam-key-rotator-direct-check',
        ExternalId: LOCAL_TARGET_EXTERNAL_ID,
        SourceIdentity: 'createKey',
        DurationSeconds: 900,
      }),
    );
    const keys = session.Credentials;
    const iam = new IAMClient({
      region: stack.aws.region,
      endpoint: stack.aws.endpoint,
      maxAttempts: 1,
      credentials: {
        accessKeyId: keys?.AccessKeyId ?? '',
        secretAccessKey: keys?.SecretAccessKey ?? '',
        sessionToken: keys?.SessionToken ?? '',
      },
    });

    // What createKey may do, it can: read the user in its path.
    const got = await iam.send(new GetUserCommand({ UserName: user.userName }));
    expect(got.User?.Arn).toBe(`arn:aws:iam::${MEMBER}:user${USER_PATH}direct-check`);
    await expect(
      iam.send(
        new UpdateAccessKeyCommand({
          UserName: user.userName,
          AccessKeyId: user.oldAccessKeyId ?? '',
          Status: 'Inactive',
        }),
      ),
    ).rejects.toMatchObject({ name: 'AccessDenied' });
    expect(stack.aws.denials()).toContainEqual(
      expect.objectContaining({ action: 'iam:UpdateAccessKey', roleArn: TARGET_ROLE(MEMBER) }),
    );
    expect(
      stack.aws
        .account(MEMBER)
        .listAccessKeys(user.userName)
        .map((k) => [k.accessKeyId, k.status]),
    ).toEqual([[user.oldAccessKeyId, 'Active']]);
  });
});

describe('a step’s role', () => {
  it('may set only its own name as SourceIdentity: createKey cannot become deleteOld, nor go without a name', async () => {
    const sts = stsAsCreateKey();
    const assume = (sourceIdentity?: string) =>
      sts.send(
        new AssumeRoleCommand({
          RoleArn: TARGET_ROLE(MEMBER),
          RoleSessionName: 'iam-key-rotator-impostor',
          ExternalId: LOCAL_TARGET_EXTERNAL_ID,
          ...(sourceIdentity ? { SourceIdentity: sourceIdentity } : {}),
          DurationSeconds: 900,
        }),
      );
    stack.aws.clearAuthorizationLog();
    await expect(assume('deleteOld')).rejects.toMatchObject({ name: 'AccessDenied' });
    await expect(assume()).rejects.toMatchObject({ name: 'AccessDenied' });
    // Refused by createKey's own role (its grant names its own step), before the member's trust policy.
    expect(stack.aws.denials()).toEqual([
      expect.objectContaining({
        action: 'sts:AssumeRole',
        roleArn: functionRoleArn(stack.aws.accountId, 'createKey'),
      }),
      expect.objectContaining({
        action: 'sts:AssumeRole',
        roleArn: functionRoleArn(stack.aws.accountId, 'createKey'),
      }),
    ]);
  });
});

// A rotation of a user with one old key assumes the target role once per step that acts in IAM
// (the credentials are cached per account, step and execution): CreateKey @1, VerifyKey @2 (the
// Vault path pin), DeactivateOld @3, DeleteOld @4. A VerifyKey that fails before its pin assumes
// nothing, so DiscardNewKey is then @2. Each case checks the step that failed by its error's cause.
const refusedFrom = (nth: number) => `sts:AssumeRole:AccessDeniedx20@${nth}`;

/** The error a step's Catch put in the state (`$.error`), as the Fail or rollback state entered with it. */
const caughtAt = (report: RotationReport, state: string) => {
  const entered = report.history.find((e) => e.type === 'StateEntered' && e.state?.name === state);
  return (entered?.state?.input as { error?: { Error: string; Cause: string } } | undefined)?.error;
};
const verifiedOutput = (report: RotationReport) => {
  const exited = report.history.find((e) => e.type === 'StateExited' && e.state?.name === 'VerifyKey');
  return (exited?.state?.output as { verified?: { pinned?: boolean; pinFailure?: string } } | undefined)
    ?.verified;
};
/** Key ids and statuses, in id order. */
const byId = (keys: [string | null | undefined, string][]) =>
  keys.sort(([a], [b]) => String(a).localeCompare(String(b)));
const keysOf = (report: RotationReport) =>
  byId(report.after.accessKeys.map((k): [string, string] => [k.accessKeyId, k.status]));
const refusal = (step: string) => `${step} cannot assume ${TARGET_ROLE(MEMBER)} (AccessDenied)`;
const UP_TO_RETIREMENT = HAPPY_PATH.slice(0, HAPPY_PATH.indexOf('DeactivateOld') + 1);

describe('a target role refused mid-rotation', () => {
  it('from DeactivateOld on: RetirementFailed (TargetAccountAccessError), the new key in Vault and verified, the old key still Active', async () => {
    const user = await seedUser(target, 'refused-deactivate', { accountId: MEMBER });

    const report = await rotateIn(user, MEMBER, { faults: [refusedFrom(3)] });

    expect(report.status).toBe('FAILED');
    expect(report.error?.Error).toBe('TargetAccountAccessError');
    expect(report.error?.Cause).toContain(refusal('deactivateOld'));
    expect(report.states).toEqual([...UP_TO_RETIREMENT, 'RetirementFailed']);
    expect(report.calls['sts:AssumeRole']).toBe(3);
    expect(report.calls['iam:UpdateAccessKey']).toBeUndefined();
    const newKey = report.after.vault?.accessKeyId;
    expect(verifiedOutput(report)?.pinned).toBe(true);
    expect(newKey).not.toBe(user.oldAccessKeyId);
    expect(keysOf(report)).toEqual(
      byId([
        [newKey, 'Active'],
        [user.oldAccessKeyId, 'Active'],
      ]),
    );
    await expectInvariants(ctx, user, report);
  });

  it('from DeleteOld on: RetirementFailed (TargetAccountAccessError), the old key Inactive and not deleted, the new key in Vault', async () => {
    const user = await seedUser(target, 'refused-delete', { accountId: MEMBER });

    const report = await rotateIn(user, MEMBER, { faults: [refusedFrom(4)] });

    expect(report.status).toBe('FAILED');
    expect(report.error?.Error).toBe('TargetAccountAccessError');
    expect(report.error?.Cause).toContain(refusal('deleteOld'));
    expect(report.states).toEqual([
      ...HAPPY_PATH.slice(0, HAPPY_PATH.indexOf('DeleteOld') + 1),
      'RetirementFailed',
    ]);
    expect(report.calls['sts:AssumeRole']).toBe(4);
    expect(report.calls['iam:DeleteAccessKey']).toBeUndefined();
    const newKey = report.after.vault?.accessKeyId;
    expect(newKey).not.toBe(user.oldAccessKeyId);
    expect(keysOf(report)).toEqual(
      byId([
        [newKey, 'Active'],
        [user.oldAccessKeyId, 'Inactive'],
      ]),
    );
    await expectInvariants(ctx, user, report);
  });

  it('at VerifyKey’s first pin: the rotation goes on and succeeds, VerifyKey’s output says pinned: false', async () => {
    const user = await seedUser(target, 'refused-pin', { accountId: MEMBER });

    const report = await rotateIn(user, MEMBER, { faults: ['sts:AssumeRole:AccessDenied@2'] });

    expect(report.status).toBe('SUCCEEDED');
    expect(report.states).toEqual(HAPPY_PATH);
    expect(verifiedOutput(report)).toMatchObject({ pinned: false });
    expect(verifiedOutput(report)?.pinFailure).toContain(`TargetAccountAccessError: ${refusal('verifyKey')}`);
    // Refused once (VerifyKey's), then DeactivateOld and DeleteOld assumed the role as their own sessions.
    expect(report.calls['sts:AssumeRole']).toBe(4);
    expect(report.calls['iam:TagUser']).toBe(1);
    const memberUser = stack.aws
      .account(MEMBER)
      .snapshot()
      .users.find((u) => u.userName === user.userName);
    expect(memberUser?.tags['iam-key-rotator:vault-path']).toBeUndefined();
    const newKey = report.after.vault?.accessKeyId;
    expect(newKey).not.toBe(user.oldAccessKeyId);
    expect(keysOf(report)).toEqual([[newKey, 'Active']]);
    await expectInvariants(ctx, user, report);
  });

  it('from DiscardNewKey on, after VerifyKey failed: RollbackFailed, Vault serves the previous key again, the new key kept', async () => {
    const user = await seedUser(target, 'refused-discard', { accountId: MEMBER });
    const real = await loadHandlers();
    const verifyKey = real.verifyKey as Handler;
    const report = await rotateIn(user, MEMBER, {
      faults: [refusedFrom(2)],
      handlers: {
        ...real,
        // Armed as VerifyKey starts, so it takes VerifyKey's own sts:GetCallerIdentity whether or not
        // CreateKey logged in to Vault (which Vault checks with that call) in this execution.
        verifyKey: (event) => {
          stack.traffic.addFault('sts:GetCallerIdentity:SignatureDoesNotMatch');
          return verifyKey(event);
        },
      },
    });

    expect(report.status).toBe('FAILED');
    expect(report.error?.Error).toBe('RollbackFailed');
    expect(report.states).toEqual([
      ...HAPPY_PATH.slice(0, HAPPY_PATH.indexOf('VerifyKey') + 1),
      'VerificationFailedRollback',
      'RestoreVault',
      'DiscardNewKey',
      'RollbackFailed',
    ]);
    expect(caughtAt(report, 'VerificationFailedRollback')?.Error).toBe('KeyVerificationError');
    expect(caughtAt(report, 'RollbackFailed')).toMatchObject({ Error: 'TargetAccountAccessError' });
    expect(caughtAt(report, 'RollbackFailed')?.Cause).toContain(refusal('discardNewKey'));
    expect(report.calls['sts:AssumeRole']).toBe(2);
    expect(report.calls['iam:DeleteAccessKey']).toBeUndefined();
    // Vault serves the previous key again (RestoreVault wrote it back); both keys are Active.
    expect(report.after.vault?.accessKeyId).toBe(user.oldAccessKeyId);
    expect(report.after.vault?.secretAccessKey).toBe(report.before.vault?.secretAccessKey);
    const newKey = newKeyId(report);
    expect(newKey).toBeDefined();
    expect(keysOf(report)).toEqual(
      byId([
        [newKey, 'Active'],
        [user.oldAccessKeyId, 'Active'],
      ]),
    );
    await expectInvariants(ctx, user, report);
  });
});

describe('a pin tag a member account’s administrator wrote', () => {
  it('naming the rotator’s own account’s folder is refused in CreateKey, before any write', async () => {
    const user = await seedUser(target, 'pinned-away', { accountId: MEMBER });
    const home = `${target.pathPrefix}${stack.aws.accountId}/${user.userName}`;
    const admin = new IAMClient({
      region: stack.aws.region,
      endpoint: stack.aws.endpoint,
      credentials: stack.aws.account(MEMBER).adminCredentials,
    });
    await admin.send(
      new TagUserCommand({ UserName: user.userName, Tags: [{ Key: VAULT_PATH_TAG_KEY, Value: home }] }),
    );
    const before = allUsers();

    const report = await rotateIn(user, MEMBER);

    expect(report.status).toBe('FAILED');
    expect(report.error?.Error).toBe('InvalidInputError');
    expect(report.error?.Cause).toContain(
      `names '${home}': account ${MEMBER}'s paths are below '${target.pathPrefix}${MEMBER}/'`,
    );
    expect(report.states).toEqual(['ValidateInput', 'CreateKey', 'DiscardLeftovers', 'CreateKeyFailed']);
    expect(writesIn(report.calls)).toEqual([]);
    expect(allUsers()).toEqual(before);
    expect(await readVaultKey(target, home)).toBeNull();
  });
});
