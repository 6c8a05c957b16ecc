// The fleet machine's role (deploy/policies.cjs fleetStateMachinePolicy) on the local stack: its
// Distributed Map's ItemReader and ResultWriter call S3 as that role, evaluated by the emulated IAM,
// so every S3 grant the emulator's Map uses is proven needed by running a fleet without it.
import { IAMClient, ListAccessKeysCommand, PutRolePolicyCommand, TagUserCommand } from '@aws-sdk/client-iam';
import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  GetExecutionHistoryCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import policies from '../../deploy/policies.cjs';
import type { PolicyDocument } from '../../deploy/policies.cjs';
import {
  FLEET_MACHINE_ROLE_NAME,
  type PolicyValues,
  renderLocally,
} from '../../local-stack/function-roles.js';
import {
  localTarget,
  type Provisioned,
  seedUser,
  type Target,
  USER_PATH,
} from '../../local-stack/provision.js';
import { prepareTarget } from '../../local-stack/rotation.js';
import { type LocalStack, startLocalStack } from '../../local-stack/stack.js';

let stack: LocalStack;
let target: Target;
let provisioned: Provisioned;
let iam: IAMClient;
let sfn: SFNClient;

beforeAll(async () => {
  stack = await startLocalStack({ stepFunctions: { waitMs: 0, retryPauseMs: 0 } });
  target = localTarget(stack);
  provisioned = await prepareTarget(target);
  const admin = {
    region: stack.aws.region,
    endpoint: stack.aws.endpoint,
    credentials: stack.aws.adminCredentials,
  };
  iam = new IAMClient(admin);
  sfn = new SFNClient(admin);
  // One due user: each run is a dry run, so it stays due for the next.
  await seedUser(target, 'machine-policy-user');
  await iam.send(
    new TagUserCommand({
      UserName: 'machine-policy-user',
      Tags: [{ Key: 'iam-key-rotator:rotate', Value: 'true' }],
    }),
  );
  const keys = (await iam.send(new ListAccessKeysCommand({ UserName: 'machine-policy-user' })))
    .AccessKeyMetadata;
  for (const key of keys ?? []) {
    await fetch(`${stack.aws.endpoint}/__admin/access-keys/${key.AccessKeyId}/create-date`, {
      method: 'POST',
      body: JSON.stringify({ createDate: new Date(Date.now() - 120 * 86_400_000).toISOString() }),
    });
  }
});

afterAll(async () => {
  await stack.close();
});

const roleArn = () => `arn:aws:iam::${stack.aws.accountId}:role/${FLEET_MACHINE_ROLE_NAME}`;

const values = (): PolicyValues => ({
  region: stack.aws.region,
  accountId: stack.aws.accountId,
  sealingKeyArn: '',
  pinKeyArn: provisioned.pinKeyId,
  claimKeyArn: provisioned.claimKeyId,
  userPath: USER_PATH,
});

const putPolicy = (document: PolicyDocument) =>
  iam.send(
    new PutRolePolicyCommand({
      RoleName: FLEET_MACHINE_ROLE_NAME,
      PolicyName: `${FLEET_MACHINE_ROLE_NAME}-policy`,
      PolicyDocument: JSON.stringify(renderLocally(document, values())),
    }),
  );

async function dryRun(): Promise<DescribeExecutionCommandOutput> {
  const { executionArn = '' } = await sfn.send(
    new StartExecutionCommand({
      stateMachineArn: stack.fleetStateMachineArn,
      input: JSON.stringify({ dryRun: true }),
    }),
  );
  for (;;) {
    const described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    if (described.status !== 'RUNNING') return described;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The fleet machine's policy without `resource` in the statement `sid` (without the statement when none is left). */
function without(sid: string, action: string, resource?: string): PolicyDocument {
  const document = structuredClone(policies.fleetStateMachinePolicy());
  document.Statement = document.Statement.flatMap((statement) => {
    if (statement.Sid !== sid) return [statement];
    const actions = [statement.Action ?? []].flat();
    if (resource === undefined) {
      const rest = actions.filter((a) => a !== action);
      return rest.length === 0 ? [] : [{ ...statement, Action: rest }];
    }
    const rest = [statement.Resource ?? []].flat().filter((r) => r !== resource);
    return rest.length === 0 ? [] : [{ ...statement, Resource: rest }];
  });
  return document;
}

const [manifest, dueUsers] = [
  policies.fleetStateMachinePolicy().Statement.find((s) => s.Sid === 'ReadDueUsers')?.Resource ?? [],
].flat();

describe('the fleet machine’s role on the local stack', () => {
  it('runs a fleet with its deployment policy: the Map’s S3 reads and writes are its own, and nothing is refused', async () => {
    await putPolicy(policies.fleetStateMachinePolicy());
    stack.aws.clearAuthorizationLog();
    const run = await dryRun();
    expect(run.status, run.cause).toBe('SUCCEEDED');
    expect(JSON.parse(run.output ?? '{}')).toMatchObject({ planned: ['machine-policy-user'] });
    expect(stack.aws.allowedActions()).toEqual(
      expect.arrayContaining([
        { roleArn: roleArn(), action: 's3:GetObject' },
        { roleArn: roleArn(), action: 's3:PutObject' },
      ]),
    );
    expect(stack.aws.denials()).toEqual([]);
  });

  it.each([
    ['the manifest', 'ReadDueUsers', 's3:GetObject', manifest, 'DueUsersUnread', 'States.ItemReaderFailed'],
    ['the due users', 'ReadDueUsers', 's3:GetObject', dueUsers, 'DueUsersUnread', 'States.ItemReaderFailed'],
    [
      'the results',
      'WriteMapResults',
      's3:PutObject',
      undefined,
      'ResultsUnwritten',
      'States.ResultWriterFailed',
    ],
  ])('needs %s (%s %s): without it the fleet ends %s', async (_, sid, action, resource, failState, error) => {
    await putPolicy(without(sid, action, resource));
    stack.aws.clearAuthorizationLog();
    try {
      const run = await dryRun();
      expect(run.status).toBe('FAILED');
      expect(run.error).toBe(error);
      const denials = stack.aws.denials();
      expect(denials.length).toBeGreaterThan(0);
      expect(denials.every((d) => d.roleArn === roleArn() && d.action === action)).toBe(true);
      const events =
        (await sfn.send(new GetExecutionHistoryCommand({ executionArn: run.executionArn, maxResults: 1000 })))
          .events ?? [];
      expect(
        events.filter((e) => e.type === 'FailStateEntered').map((e) => e.stateEnteredEventDetails?.name),
      ).toEqual([failState]);
    } finally {
      await putPolicy(policies.fleetStateMachinePolicy());
    }
  });
});
