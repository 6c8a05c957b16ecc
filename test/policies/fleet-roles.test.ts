// Fleet rotation's function roles, as deploy/policies.cjs writes them, evaluated by the emulated
// IAM: listCandidates reads the users under the path and nothing else; reportToFleet answers task
// tokens and nothing else.
import {
  CreateAccessKeyCommand,
  CreateRoleCommand,
  IAMClient,
  ListAccessKeysCommand,
  ListUsersCommand,
  ListUserTagsCommand,
  PutRolePolicyCommand,
  TagUserCommand,
} from '@aws-sdk/client-iam';
import {
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import policies, { type FleetFunctionName } from '../../deploy/policies.cjs';
import { startAwsEmulator, type AwsEmulator } from '../../local-stack/aws/index.js';
import { renderLocally } from '../../local-stack/function-roles.js';

const USER_PATH = '/rotated/';
let aws: AwsEmulator;

beforeAll(async () => {
  aws = await startAwsEmulator();
  aws.createUser('in-path', USER_PATH);
  aws.createUser('elsewhere', '/other/');
});

afterAll(async () => {
  await aws.close();
});

const config = () => ({ endpoint: aws.endpoint, region: aws.region, maxAttempts: 1 });

/** Credentials of a role holding exactly the function's deployment policy. */
async function roleOf(fn: FleetFunctionName) {
  const admin = { ...config(), credentials: aws.adminCredentials };
  const iam = new IAMClient(admin);
  const roleName = `iam-key-rotator-local-${fn}`;
  const trust = {
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' },
    ],
  };
  const role = await iam.send(
    new CreateRoleCommand({ RoleName: roleName, AssumeRolePolicyDocument: JSON.stringify(trust) }),
  );
  const document = renderLocally(policies.fleetFunctionPolicy(fn), {
    region: aws.region,
    accountId: aws.accountId,
    sealingKeyArn: `arn:aws:kms:${aws.region}:${aws.accountId}:key/unused`,
    pinKeyArn: `arn:aws:kms:${aws.region}:${aws.accountId}:key/unused-pin`,
    claimKeyArn: `arn:aws:kms:${aws.region}:${aws.accountId}:key/unused-claim`,
    userPath: USER_PATH,
  });
  await iam.send(
    new PutRolePolicyCommand({
      RoleName: roleName,
      PolicyName: fn,
      PolicyDocument: JSON.stringify(document),
    }),
  );
  const assumed = await new STSClient(admin).send(
    new AssumeRoleCommand({ RoleArn: role.Role?.Arn, RoleSessionName: fn }),
  );
  const keys = assumed.Credentials;
  return {
    accessKeyId: keys?.AccessKeyId ?? '',
    secretAccessKey: keys?.SecretAccessKey ?? '',
    sessionToken: keys?.SessionToken ?? '',
  };
}

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => new Error('expected a refusal'),
    (e: unknown) => e as Error,
  );

describe('listCandidates’ role', () => {
  it('lists the users under the path, their tags and keys, and nothing else', async () => {
    const iam = new IAMClient({ ...config(), credentials: await roleOf('listCandidates') });
    const listed = await iam.send(new ListUsersCommand({ PathPrefix: USER_PATH }));
    expect(listed.Users?.map((u) => u.UserName)).toEqual(['in-path']);
    await expect(iam.send(new ListUserTagsCommand({ UserName: 'in-path' }))).resolves.toBeDefined();
    await expect(iam.send(new ListAccessKeysCommand({ UserName: 'in-path' }))).resolves.toBeDefined();
    // Outside the path, and any write, is refused.
    for (const call of [
      iam.send(new ListUsersCommand({})),
      iam.send(new ListUsersCommand({ PathPrefix: '/other/' })),
      iam.send(new ListAccessKeysCommand({ UserName: 'elsewhere' })),
      iam.send(new ListUserTagsCommand({ UserName: 'elsewhere' })),
      iam.send(new CreateAccessKeyCommand({ UserName: 'in-path' })),
      iam.send(
        new TagUserCommand({ UserName: 'in-path', Tags: [{ Key: 'iam-key-rotator:claim', Value: 'x' }] }),
      ),
    ]) {
      expect((await failure(call)).name).toBe('AccessDenied');
    }
  });
});

describe('reportToFleet’s role', () => {
  it('may answer a task token (the answer reaches Step Functions) and may not start executions', async () => {
    const sfn = new SFNClient({ ...config(), credentials: await roleOf('reportToFleet') });
    // Authorized: Step Functions refuses the token (InvalidToken), not the caller (AccessDeniedException).
    expect(
      (await failure(sfn.send(new SendTaskSuccessCommand({ taskToken: 'not-a-token', output: '{}' })))).name,
    ).toBe('InvalidToken');
    expect(
      (await failure(sfn.send(new SendTaskFailureCommand({ taskToken: 'not-a-token', error: 'E' })))).name,
    ).toBe('InvalidToken');
    const machine = `arn:aws:states:${aws.region}:${aws.accountId}:stateMachine:iam-key-rotator-local`;
    expect(
      (await failure(sfn.send(new StartExecutionCommand({ stateMachineArn: machine, input: '{}' })))).name,
    ).toBe('AccessDeniedException');
  });
});
