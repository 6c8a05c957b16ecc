import {
  CreateAccessKeyCommand,
  CreateRoleCommand,
  CreateUserCommand,
  GetUserCommand,
  ListUsersCommand,
  PutRolePolicyCommand,
} from '@aws-sdk/client-iam';
import { AssumeRoleCommand, GetCallerIdentityCommand, type AssumeRoleRequest } from '@aws-sdk/client-sts';
import { beforeAll, describe, expect, it } from 'vitest';
import { clients, failure, useEmulator, type Credentials } from './helpers.js';

const HOME = '123456789012';
const MEMBER = '222222222222';
const emulator = useEmulator({ memberAccountIds: [MEMBER] });

const TARGET = 'iam-key-rotator-target';
const TARGET_ARN = `arn:aws:iam::${MEMBER}:role/${TARGET}`;
const EXTERNAL_ID = 'rotator-ext-1';
const LAMBDA_TRUST = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
});
// Any role of the member account, and the target role of an account the emulator does not model.
const MAY_ASSUME_TARGET = [
  {
    Effect: 'Allow',
    Action: ['sts:AssumeRole', 'sts:SetSourceIdentity'],
    Resource: [`arn:aws:iam::${MEMBER}:role/*`, `arn:aws:iam::333333333333:role/${TARGET}`],
  },
];

const toCredentials = (
  c: { AccessKeyId?: string; SecretAccessKey?: string; SessionToken?: string } = {},
) => ({
  accessKeyId: c.AccessKeyId ?? '',
  secretAccessKey: c.SecretAccessKey ?? '',
  sessionToken: c.SessionToken ?? '',
});

/** A role in `admin`'s account with one inline policy, and a session of it (as Lambda would give). */
async function homeRole(name: string, statements: unknown[]): Promise<Credentials> {
  const { iam, sts } = clients(emulator());
  const { Role } = await iam.send(
    new CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: LAMBDA_TRUST }),
  );
  await iam.send(
    new PutRolePolicyCommand({
      RoleName: name,
      PolicyName: 'inline',
      PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: statements }),
    }),
  );
  const { Credentials: c } = await sts.send(
    new AssumeRoleCommand({ RoleArn: Role?.Arn, RoleSessionName: 'lambda' }),
  );
  return toCredentials(c);
}

/** The member's target role, made through IAM with the member's own local-admin, as the contracts shape it. */
async function provisionTarget(trusted: string[]): Promise<void> {
  const { iam } = clients(emulator(), emulator().account(MEMBER).adminCredentials);
  const step = (sourceIdentity: string) => ({
    Effect: 'Allow',
    Principal: { AWS: trusted },
    Action: ['sts:AssumeRole', 'sts:SetSourceIdentity'],
    Condition: { StringEquals: { 'sts:ExternalId': EXTERNAL_ID, 'sts:SourceIdentity': sourceIdentity } },
  });
  await iam.send(
    new CreateRoleCommand({
      RoleName: TARGET,
      AssumeRolePolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [step('createKey'), step('deleteOld')],
      }),
    }),
  );
  await iam.send(
    new PutRolePolicyCommand({
      RoleName: TARGET,
      PolicyName: 'steps',
      PolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'CreateKeyRotatedUsers',
            Effect: 'Allow',
            Action: ['iam:ListUsers', 'iam:CreateAccessKey'],
            Resource: `arn:aws:iam::${MEMBER}:user/rotated/*`,
            Condition: { StringEquals: { 'aws:SourceIdentity': 'createKey' } },
          },
        ],
      }),
    }),
  );
}

let rotator: Credentials;
let outsider: Credentials;
let withoutGrant: Credentials;

beforeAll(async () => {
  const aws = emulator();
  rotator = await homeRole('rotator-createKey', MAY_ASSUME_TARGET);
  outsider = await homeRole('outsider', MAY_ASSUME_TARGET);
  withoutGrant = await homeRole('no-assume-grant', [
    { Effect: 'Allow', Action: 'iam:GetUser', Resource: '*' },
  ]);
  await provisionTarget([
    `arn:aws:iam::${HOME}:role/rotator-createKey`,
    `arn:aws:iam::${HOME}:role/no-assume-grant`,
  ]);
  aws.account(MEMBER).createUser('alice', '/rotated/');
  aws.account(MEMBER).createUser('outside-path');
  aws.createUser('home-alice', '/rotated/');
});

const request = (overrides: Partial<AssumeRoleRequest> = {}): AssumeRoleRequest => ({
  RoleArn: TARGET_ARN,
  RoleSessionName: 'iam-key-rotator-run-1',
  DurationSeconds: 900,
  ExternalId: EXTERNAL_ID,
  SourceIdentity: 'createKey',
  ...overrides,
});

async function assume(caller: Credentials, overrides: Partial<AssumeRoleRequest> = {}) {
  return clients(emulator(), caller).sts.send(new AssumeRoleCommand(request(overrides)));
}

/** AWS's answer when the role does not exist or does not trust the caller: the same. */
async function expectRefused(caller: Credentials, overrides: Partial<AssumeRoleRequest>, callerArn: string) {
  const error = await failure(assume(caller, overrides));
  expect(error.name).toBe('AccessDenied');
  expect(error.$metadata?.httpStatusCode).toBe(403);
  const roleArn = overrides.RoleArn ?? TARGET_ARN;
  expect(error.message).toMatch(
    new RegExp(
      `^User: ${callerArn} is not authorized to perform: sts:(AssumeRole|SetSourceIdentity) on resource: ${roleArn}$`,
    ),
  );
}

const ROTATOR_SESSION = `arn:aws:sts::${HOME}:assumed-role/rotator-createKey/lambda`;

describe('AssumeRole into a member account', () => {
  it('right ExternalId and SourceIdentity: credentials whose identity is the assumed role in the member account', async () => {
    const assumed = await assume(rotator);
    expect(assumed.SourceIdentity).toBe('createKey');
    const arn = `arn:aws:sts::${MEMBER}:assumed-role/${TARGET}/iam-key-rotator-run-1`;
    expect(assumed.AssumedRoleUser?.Arn).toBe(arn);
    const identity = await clients(emulator(), toCredentials(assumed.Credentials)).sts.send(
      new GetCallerIdentityCommand({}),
    );
    expect(identity).toMatchObject({
      Account: MEMBER,
      Arn: arn,
      UserId: assumed.AssumedRoleUser?.AssumedRoleId,
    });
  });

  it("the session's IAM calls act in the member account, under the role's policy", async () => {
    const { iam } = clients(emulator(), toCredentials((await assume(rotator)).Credentials));
    const listed = await iam.send(new ListUsersCommand({ PathPrefix: '/rotated/' }));
    expect(listed.Users?.map((u) => u.Arn)).toEqual([`arn:aws:iam::${MEMBER}:user/rotated/alice`]);
    const { AccessKey } = await iam.send(new CreateAccessKeyCommand({ UserName: 'alice' }));
    expect(
      emulator()
        .account(MEMBER)
        .listAccessKeys('alice')
        .map((k) => k.accessKeyId),
    ).toEqual([AccessKey?.AccessKeyId]);
    expect(emulator().listAccessKeys('home-alice')).toEqual([]);
    // home-alice is no user of the member account; outside-path is outside the policy's path.
    for (const UserName of ['home-alice', 'outside-path']) {
      expect((await failure(iam.send(new CreateAccessKeyCommand({ UserName })))).name).toBe('AccessDenied');
    }
    const denied = await failure(iam.send(new GetUserCommand({ UserName: 'alice' })));
    expect(denied.message).toContain(`User: arn:aws:sts::${MEMBER}:assumed-role/${TARGET}/`);
    expect(emulator().allowedActions()).toContainEqual({
      roleArn: TARGET_ARN,
      action: 'iam:CreateAccessKey',
    });
  });

  it('a statement conditioned on aws:SourceIdentity allows its step only: another step is denied', async () => {
    const assumed = await assume(rotator, { SourceIdentity: 'deleteOld' });
    expect(assumed.SourceIdentity).toBe('deleteOld');
    const { iam } = clients(emulator(), toCredentials(assumed.Credentials));
    const error = await failure(iam.send(new ListUsersCommand({ PathPrefix: '/rotated/' })));
    expect(error.name).toBe('AccessDenied');
    expect(emulator().denials()).toContainEqual(
      expect.objectContaining({ action: 'iam:ListUsers', roleArn: TARGET_ARN, reason: 'implicit-deny' }),
    );
  });

  it('wrong, missing ExternalId and wrong, missing SourceIdentity: AccessDenied in AWS words', async () => {
    await expectRefused(rotator, { ExternalId: 'rotator-ext-2' }, ROTATOR_SESSION);
    await expectRefused(rotator, { ExternalId: undefined }, ROTATOR_SESSION);
    await expectRefused(rotator, { SourceIdentity: 'verifyKey' }, ROTATOR_SESSION);
    await expectRefused(rotator, { SourceIdentity: undefined }, ROTATOR_SESSION);
    expect(emulator().denials()).toContainEqual({
      action: 'sts:AssumeRole',
      resource: TARGET_ARN,
      principal: ROTATOR_SESSION,
      roleArn: `arn:aws:iam::${HOME}:role/rotator-createKey`,
      reason: 'untrusted',
    });
  });

  it('an untrusted caller, a missing role, an account not modelled: the same AccessDenied', async () => {
    await expectRefused(outsider, {}, `arn:aws:sts::${HOME}:assumed-role/outsider/lambda`);
    await expectRefused(rotator, { RoleArn: `arn:aws:iam::${MEMBER}:role/no-such-role` }, ROTATOR_SESSION);
    await expectRefused(rotator, { RoleArn: `arn:aws:iam::${MEMBER}:role/other/${TARGET}` }, ROTATOR_SESSION);
    await expectRefused(rotator, { RoleArn: `arn:aws:iam::333333333333:role/${TARGET}` }, ROTATOR_SESSION);
  });

  it("a caller whose identity policy lacks sts:AssumeRole is refused by its own account's policy", async () => {
    const error = await failure(assume(withoutGrant));
    expect(error.name).toBe('AccessDenied');
    expect(error.message).toBe(
      `User: arn:aws:sts::${HOME}:assumed-role/no-assume-grant/lambda is not authorized to perform: ` +
        `sts:AssumeRole on resource: ${TARGET_ARN} because no identity-based policy allows the sts:AssumeRole action`,
    );
  });

  it('local-admin skips the trust policy in its own account only', async () => {
    const homeAdmin = emulator().adminCredentials;
    await expectRefused(homeAdmin, {}, `arn:aws:iam::${HOME}:user/local-admin`);
    const memberAdmin = emulator().account(MEMBER).adminCredentials;
    const assumed = await assume(memberAdmin, { ExternalId: undefined, SourceIdentity: undefined });
    expect(assumed.AssumedRoleUser?.Arn).toBe(
      `arn:aws:sts::${MEMBER}:assumed-role/${TARGET}/iam-key-rotator-run-1`,
    );
    // A role no account holds: only its own account's local-admin may assume it.
    const unheld = `arn:aws:iam::${MEMBER}:role/not-emulated`;
    await expect(assume(memberAdmin, { RoleArn: unheld, SourceIdentity: undefined })).resolves.toBeDefined();
    await expectRefused(
      homeAdmin,
      { RoleArn: unheld, SourceIdentity: undefined },
      `arn:aws:iam::${HOME}:user/local-admin`,
    );
  });

  it('refuses bad values as the SDK model constrains them, before any trust evaluation', async () => {
    const cases: [Partial<AssumeRoleRequest>, string][] = [
      [
        { ExternalId: 'x' },
        "Value 'x' at 'externalId' failed to satisfy constraint: Member must have length greater than or equal to 2",
      ],
      [{ ExternalId: 'has space' }, 'Member must satisfy regular expression pattern: [\\w+=,.@:\\/-]*'],
      [
        { SourceIdentity: 'aws:createKey' },
        "at 'sourceIdentity' failed to satisfy constraint: Member must satisfy regular expression pattern",
      ],
      [{ SourceIdentity: 'c'.repeat(65) }, 'Member must have length less than or equal to 64'],
      [
        { DurationSeconds: 3601 },
        'The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.',
      ],
    ];
    for (const [overrides, message] of cases) {
      const error = await failure(assume(rotator, overrides));
      expect(error.name).toBe('ValidationError');
      expect(error.$metadata?.httpStatusCode).toBe(400);
      expect(error.message).toContain(message);
    }
  });
});

describe('accounts of the emulator', () => {
  it("an IAM user's key of the member account authenticates as that account's user", async () => {
    const member = emulator().account(MEMBER);
    const { iam } = clients(emulator(), member.adminCredentials);
    await iam.send(new CreateUserCommand({ UserName: 'bob', Path: '/rotated/' }));
    const key = member.createAccessKey('bob');
    const identity = await clients(emulator(), key).sts.send(new GetCallerIdentityCommand({}));
    expect(identity).toMatchObject({ Account: MEMBER, Arn: `arn:aws:iam::${MEMBER}:user/rotated/bob` });
    expect(member.snapshot().users.map((u) => u.userName)).toContain('bob');
    expect(
      emulator()
        .snapshot()
        .users.map((u) => u.userName),
    ).not.toContain('bob');
    const admin = await clients(emulator(), member.adminCredentials).sts.send(
      new GetCallerIdentityCommand({}),
    );
    expect(admin.Arn).toBe(`arn:aws:iam::${MEMBER}:user/local-admin`);
  });

  it('account() names the home account too, and throws for an account not modelled', () => {
    expect(emulator().account(HOME).adminCredentials.accessKeyId).toBe(
      emulator().adminCredentials.accessKeyId,
    );
    expect(() => emulator().account('333333333333')).toThrow(RangeError);
  });

  it('the admin API seeds and reads a member account under accounts/<id>/, and lists the accounts', async () => {
    const admin = async (method: string, path: string, body?: unknown) => {
      const response = await fetch(`${emulator().endpoint}/__admin/${path}`, {
        method,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: response.status, json: (await response.json()) as Record<string, unknown> };
    };
    expect(await admin('GET', 'accounts')).toEqual({
      status: 200,
      json: { home: HOME, accountIds: [HOME, MEMBER] },
    });
    const user = await admin('POST', `accounts/${MEMBER}/users`, { userName: 'carol' });
    expect(user).toMatchObject({ status: 201, json: { arn: `arn:aws:iam::${MEMBER}:user/carol` } });
    const key = await admin('POST', `accounts/${MEMBER}/users/carol/access-keys`);
    expect(key.status).toBe(201);
    const state = await admin('GET', `accounts/${MEMBER}/state`);
    expect(state.json.accountId).toBe(MEMBER);
    expect(JSON.stringify(state.json)).toContain('carol');
    expect(JSON.stringify((await admin('GET', 'state')).json)).not.toContain('carol');
    expect((await admin('POST', 'accounts/333333333333/users', { userName: 'x' })).status).toBe(404);
    expect((await admin('GET', `accounts/${MEMBER}/faults`)).status).toBe(404);
  });
});
