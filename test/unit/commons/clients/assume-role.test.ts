import { CreateRoleCommand, IAMClient, ListUsersCommand, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity } from '@smithy/types';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { type AwsEmulator, startAwsEmulator } from '../../../../local-stack/aws/index.js';
import type * as AssumeRole from '../../../../functions/commons/clients/assume-role.js';
import type * as IamClients from '../../../../functions/commons/clients/iam.js';
import type * as Sts from '../../../../functions/commons/clients/sts.js';
import type * as Iam from '../../../../functions/commons/iam.js';
import { rejectionOf, setAwsAuthEnv } from '../../support.js';

// The target role lives in the emulator's account; the rotator's "own" account is another one, so
// the function's credentials (the emulator's local-admin) assume it as they would a member's role.
const OWN = '111111111111';
const EXTERNAL_ID = 'org-7f3a:rotator';
const ROLE = 'iam-key-rotator-target';

type Modules = [typeof AssumeRole, typeof IamClients, typeof Sts, typeof Iam];

let aws: AwsEmulator;
let mods: Modules;
/** The AssumeRole inputs the function's STS client sent, as the SDK serialised them. */
const sent: Record<string, unknown>[] = [];

beforeAll(async () => {
  aws = await startAwsEmulator({ region: 'eu-west-1' });
  setAwsAuthEnv({
    AWS_REGION: aws.region,
    AWS_ENDPOINT_URL: aws.endpoint,
    AWS_ACCESS_KEY_ID: aws.adminCredentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: aws.adminCredentials.secretAccessKey,
    ROTATOR_ACCOUNT_ID: OWN,
    ROTATOR_ALLOWED_ACCOUNT_IDS: aws.accountId,
    ROTATOR_TARGET_EXTERNAL_ID: EXTERNAL_ID,
  });
  vi.resetModules();
  mods = await Promise.all([
    import('../../../../functions/commons/clients/assume-role.js'),
    import('../../../../functions/commons/clients/iam.js'),
    import('../../../../functions/commons/clients/sts.js'),
    import('../../../../functions/commons/iam.js'),
  ]);
  mods[2].stsClient().middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'AssumeRoleCommand') sent.push({ ...(args.input as object) });
      return next(args);
    },
    { step: 'initialize', name: 'recordAssumeRole' },
  );
  const admin = new IAMClient({
    region: aws.region,
    endpoint: aws.endpoint,
    credentials: aws.adminCredentials,
  });
  await admin.send(
    new CreateRoleCommand({
      RoleName: ROLE,
      AssumeRolePolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { AWS: `arn:aws:iam::${OWN}:root` },
            Action: ['sts:AssumeRole', 'sts:SetSourceIdentity'],
            Condition: { StringEquals: { 'sts:ExternalId': EXTERNAL_ID } },
          },
        ],
      }),
    }),
  );
  await admin.send(
    new PutRolePolicyCommand({
      RoleName: ROLE,
      PolicyName: 'list-users',
      PolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: 'iam:ListUsers', Resource: '*' }],
      }),
    }),
  );
});

afterAll(async () => {
  await aws.close();
});

afterEach(() => {
  vi.useRealTimers();
  aws.traffic.clearFaults();
  aws.traffic.resetCalls();
  sent.length = 0;
});

let runs = 0;
/** A target in the emulator's account for a fresh execution, so no cached client is shared. */
function target(step: 'createKey' | 'deleteOld' = 'createKey') {
  runs += 1;
  return { accountId: aws.accountId, execution: `rotate-${runs}`, step };
}
const assumeRoles = () => aws.traffic.calls()['sts:AssumeRole'] ?? 0;

describe('assumedRoleCredentials', () => {
  it('assumes the target role with the ExternalId, the step as SourceIdentity, a session named after the execution, for 900 s', async () => {
    const t = target('deleteOld');
    const before = Date.now();
    const credentials = await mods[0].assumedRoleCredentials(t)();
    expect(sent).toEqual([
      {
        RoleArn: `arn:aws:iam::${aws.accountId}:role/${ROLE}`,
        RoleSessionName: `iam-key-rotator-${t.execution}`,
        ExternalId: EXTERNAL_ID,
        SourceIdentity: 'deleteOld',
        DurationSeconds: 900,
      },
    ]);
    expect(assumeRoles()).toBe(1);
    expect(credentials.sessionToken).toBeTruthy();
    const lifetime = (credentials.expiration?.getTime() ?? 0) - before;
    expect(lifetime).toBeGreaterThan(890_000);
    expect(lifetime).toBeLessThanOrEqual(901_000);
    // What the emulator made of it: a session of the role in its account, named as sent.
    const identity = await mods[2].stsWith(credentials).send(new GetCallerIdentityCommand({}));
    expect(identity.Arn).toBe(
      `arn:aws:sts::${aws.accountId}:assumed-role/${ROLE}/iam-key-rotator-${t.execution}`,
    );
    expect(identity.Account).toBe(aws.accountId);
  });

  it('keeps session names within AWS rules: unsafe characters replaced, at most 64 characters', () => {
    expect(mods[0].sessionName('nightly run #3 (ä)')).toBe('iam-key-rotator-nightly_run__3____');
    const long = mods[0].sessionName('x'.repeat(80));
    expect(long).toHaveLength(64);
    expect(long).toMatch(/^[\w+=,.@-]{2,64}$/);
  });

  it('re-uses the credentials until 5 minutes before they expire, and shares one AssumeRole between concurrent calls', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const start = Date.now();
    const provider = mods[0].assumedRoleCredentials(target());
    const [first, again] = await Promise.all([provider(), provider()]);
    expect(again).toBe(first);
    expect(assumeRoles()).toBe(1);
    vi.setSystemTime(start + 9 * 60_000);
    expect(await provider()).toBe(first);
    expect(assumeRoles()).toBe(1);
    vi.setSystemTime(start + 10 * 60_000 + 1_000);
    const renewed: AwsCredentialIdentity = await provider();
    expect(assumeRoles()).toBe(2);
    expect(renewed.accessKeyId).not.toBe(first.accessKeyId);
  });

  it('throws TargetAccountAccessError when STS refuses (AccessDenied), naming the role but not the ExternalId', async () => {
    aws.traffic.addFault('sts:AssumeRole:AccessDenied');
    const error = await rejectionOf(mods[0].assumedRoleCredentials(target())());
    expect(error.name).toBe('TargetAccountAccessError');
    expect(error.message).toContain(`arn:aws:iam::${aws.accountId}:role/${ROLE}`);
    expect(error.message).toContain('AccessDenied');
    expect(error.message).not.toContain(EXTERNAL_ID);
    expect(assumeRoles()).toBe(1);
  });

  it.each(['503x5', 'Throttlingx5'])(
    'throws AwsUnavailableError, which the state machine retries, when STS keeps answering %s',
    async (fault) => {
      aws.traffic.addFault(`sts:AssumeRole:${fault}`);
      const error = await rejectionOf(mods[0].assumedRoleCredentials(target())());
      expect(error.name).toBe('AwsUnavailableError');
    },
  );
});

describe('iamClients', () => {
  it('signs IAM calls in another account as the assumed role, assuming it once per account, step and execution', async () => {
    const t = target();
    const clients = mods[1].iamClients(t);
    expect(mods[1].iamClients(t)).toBe(clients);
    await clients.iam.send(new ListUsersCommand({}));
    await clients.iam.send(new ListUsersCommand({}));
    expect(assumeRoles()).toBe(1);
    expect(aws.allowedActions()).toContainEqual({
      roleArn: `arn:aws:iam::${aws.accountId}:role/${ROLE}`,
      action: 'iam:ListUsers',
    });
    expect(mods[1].iamClients({ ...t, step: 'deleteOld' })).not.toBe(clients);
  });

  it("uses the function's own clients, and no AssumeRole, for the rotator's own account", async () => {
    const own = mods[1].iamClients({ accountId: OWN, execution: 'rotate-own', step: 'createKey' });
    expect(own).toBe(mods[1].iamClients());
    await own.iam.send(new ListUsersCommand({}));
    expect(aws.traffic.calls()['iam:ListUsers']).toBe(1);
    expect(assumeRoles()).toBe(0);
  });

  it('acts for an execution without accountId (started before accounts) in the own account, without AssumeRole', async () => {
    const user = mods[3].iamUser(
      { userName: 'nobody', execution: 'arn:aws:states:eu-west-1:111111111111:execution:m:old-run' },
      'createKey',
    );
    expect(user.target).toEqual({ accountId: OWN, execution: 'old-run', step: 'createKey' });
    expect(mods[1].iamClients(user.target)).toBe(mods[1].iamClients());
  });

  it('fails a step in a refused account with TargetAccountAccessError before any IAM call', async () => {
    aws.traffic.addFault('sts:AssumeRole:AccessDenied');
    const user = mods[3].iamUser(
      {
        userName: 'alice',
        accountId: aws.accountId,
        execution: `arn:aws:states:eu-west-1:${OWN}:execution:m:denied`,
      },
      'createKey',
    );
    const error = await rejectionOf(mods[3].getUser(user));
    expect(error.name).toBe('TargetAccountAccessError');
    expect(Object.keys(aws.traffic.calls()).filter((call) => call.startsWith('iam:'))).toEqual([]);
  });
});
