import { IAMClient, ListAccessKeysCommand, TagUserCommand } from '@aws-sdk/client-iam';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { STSClient } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import policies from '../../deploy/policies.cjs';
import type { FleetFunctionName, PolicyDocument, Statement } from '../../deploy/policies.cjs';
import { withFunctionEnvironment } from '../../local-stack/function-environment.js';
import { renderLocally, roleWithPolicy } from '../../local-stack/function-roles.js';
import {
  localTarget,
  type Provisioned,
  type SeededUser,
  seedUser,
  type Target,
  ROTATOR_ROLE,
  USER_PATH,
  vaultAdmin,
} from '../../local-stack/provision.js';
import { prepareTarget, rotate } from '../../local-stack/rotation.js';
import { type LocalStack, startLocalStack } from '../../local-stack/stack.js';

let stack: LocalStack;
let target: Target;
let provisioned: Provisioned;
/** Rotated once (a signed pin), its claim since gone stale and its key aged: due, placed by its pin. */
let pinned: SeededUser;
/** A dry run of fleet-policy-user holding a child's name, started after FLEET_STARTED_AT with a token. */
let childName: string;
const FLEET_STARTED_AT = new Date(Date.now() - 60_000).toISOString();
const OPT_IN = [{ Key: 'iam-key-rotator:rotate', Value: 'true' }];

beforeAll(async () => {
  stack = await startLocalStack();
  target = localTarget(stack);
  provisioned = await prepareTarget(target);
  const admin = {
    region: stack.aws.region,
    endpoint: stack.aws.endpoint,
    credentials: stack.aws.adminCredentials,
  };
  const iam = new IAMClient(admin);
  const tag = (UserName: string, Tags: { Key: string; Value: string }[]) =>
    iam.send(new TagUserCommand({ UserName, Tags }));
  await seedUser(target, 'fleet-policy-user');
  await tag('fleet-policy-user', OPT_IN);
  // Rotated once each: a signed pin and a signed, fresh claim.
  pinned = await seedUser(target, 'fleet-policy-pinned');
  const claimed = await seedUser(target, 'fleet-policy-claimed');
  for (const user of [pinned, claimed]) {
    const report = await rotate({ target, stack, user, waitMs: 0, retryPauseMs: 0 });
    expect(report.status).toBe('SUCCEEDED');
    await tag(user.userName, OPT_IN);
  }
  // The pinned user's claim dated a day back (no claim any more) and its key 120 days old: due.
  await tag(pinned.userName, [
    { Key: 'iam-key-rotator:claim', Value: new Date(Date.now() - 86_400_000).toISOString() },
  ]);
  const keys = (await iam.send(new ListAccessKeysCommand({ UserName: pinned.userName }))).AccessKeyMetadata;
  for (const key of keys ?? []) {
    await fetch(`${stack.aws.endpoint}/__admin/access-keys/${key.AccessKeyId}/create-date`, {
      method: 'POST',
      body: JSON.stringify({ createDate: new Date(Date.now() - 120 * 86_400_000).toISOString() }),
    });
  }
  childName = 'fleet-0123456789abcdef-fleet-policy-user';
  await new SFNClient(admin).send(
    new StartExecutionCommand({
      stateMachineArn: stack.stateMachineArn,
      name: childName,
      input: JSON.stringify({
        userName: 'fleet-policy-user',
        accountId: stack.aws.accountId,
        dryRun: true,
        fleetTaskToken: 'a-token-of-this-fleet',
      }),
    }),
  );
});

afterAll(async () => {
  await stack.close();
});

const EXECUTION = 'arn:aws:states:us-east-1:123456789012:execution:iam-key-rotator-fleet-local:policy';

/** An ended execution of the per-user machine, as EventBridge hands it to reportToFleet. */
const ended = (status: string, token: string) => ({
  'detail-type': 'Step Functions Execution Status Change',
  detail: {
    executionArn: `${EXECUTION}-child`,
    status,
    input: JSON.stringify({ userName: 'fleet-policy-user', fleetTaskToken: token }),
    error: status === 'FAILED' ? 'CreateKeyFailed' : null,
    cause: null,
  },
});

/** Runs what each fleet function does, as its role; throws when any call is refused. */
const SCENARIOS: Record<FleetFunctionName, () => Promise<void>> = {
  // A due user with a signed pin (kms:VerifyMac on the pin key, a Vault read of its path) and one
  // with a fresh signed claim (kms:VerifyMac on the claim key).
  listCandidates: async () => {
    const { handler } = await import('../../functions/listCandidates.js');
    const candidates = await handler({ input: { maxKeyAgeDays: 1 }, execution: EXECUTION });
    const accountId = stack.aws.accountId;
    expect(candidates.failedUsers).toEqual([]);
    expect(candidates.due.map((u) => [u.userName, u.vaultPath])).toEqual([
      [pinned.userName, pinned.vaultPath],
    ]);
    expect(candidates.skipped).toEqual(
      expect.arrayContaining([
        { accountId, userName: 'fleet-policy-user', reason: 'keyYoung' },
        { accountId, userName: 'fleet-policy-claimed', reason: 'rotationRunning' },
      ]),
    );
  },
  // An execution holding a child's name: described (states:DescribeExecution), found this fleet's.
  summarizeFleet: async () => {
    const { handler } = await import('../../functions/summarizeFleet.js');
    const summary = await handler({
      results: [
        {
          accountId: stack.aws.accountId,
          userName: 'fleet-policy-user',
          outcome: 'alreadyStarted',
          stateMachineArn: stack.stateMachineArn,
          executionName: childName,
        },
      ],
      fleetStartedAt: FLEET_STARTED_AT,
      skipped: [],
      dryRun: true,
    });
    expect(summary.failed).toEqual([]);
    expect(summary.alreadyStarted).toEqual(['fleet-policy-user']);
  },
  reportToFleet: async () => {
    const { handler } = await import('../../functions/reportToFleet.js');
    const tokens = stack.aws.stepFunctions.taskTokens;
    const signal = new AbortController().signal;
    for (const status of ['SUCCEEDED', 'FAILED']) {
      const token = tokens.mint();
      const answered = tokens.wait(token, signal).then(
        () => 'success',
        (error: Error) => error.name,
      );
      expect(await handler(ended(status, token))).toEqual({ reported: true });
      expect(await answered).toBe(status === 'SUCCEEDED' ? 'success' : 'CreateKeyFailed');
    }
  },
};

const list = (value: Statement['Action']): string[] => (value === undefined ? [] : [value].flat());

async function asRole(fn: FleetFunctionName, document: PolicyDocument, run: () => Promise<void>) {
  const clients = {
    iam: new IAMClient({
      region: stack.aws.region,
      endpoint: stack.aws.endpoint,
      credentials: stack.aws.adminCredentials,
    }),
    sts: new STSClient({
      region: stack.aws.region,
      endpoint: stack.aws.endpoint,
      credentials: stack.aws.adminCredentials,
    }),
  };
  const rendered = renderLocally(document, {
    region: stack.aws.region,
    accountId: stack.aws.accountId,
    sealingKeyArn: '',
    pinKeyArn: provisioned.pinKeyId,
    claimKeyArn: provisioned.claimKeyId,
    userPath: USER_PATH,
  });
  const role = await roleWithPolicy(clients, `iam-key-rotator-local-${fn}`, rendered);
  stack.aws.clearAuthorizationLog();
  await withFunctionEnvironment(role.environment, run);
  return role.roleArn;
}

const mutations = policies.FLEET_FUNCTIONS.flatMap((fn) =>
  policies.FLEET_FUNCTION_STATEMENTS[fn].flatMap((statement, index) =>
    list(statement.Action).map((action) => ({ fn, action, index })),
  ),
);

describe('the fleet functions’ policies (deploy/policies.cjs FLEET_FUNCTION_STATEMENTS)', () => {
  it.each(policies.FLEET_FUNCTIONS)(
    '%s does its work with its own policy and nothing is refused',
    async (fn) => {
      await asRole(fn, policies.fleetFunctionPolicy(fn), SCENARIOS[fn]);
      expect(stack.aws.denials()).toEqual([]);
    },
  );

  it('listCandidates needs read on the users’ Vault paths: without it the pinned user is not placed, Vault refusing', async () => {
    const vault = vaultAdmin(target);
    const policyPath = `sys/policies/acl/${ROTATOR_ROLE}`;
    const { data } = (await vault.get(policyPath)) as { data: { data: { policy: string } } };
    const full = data.data.policy;
    const withoutRead = full.replace(
      'capabilities = ["create", "read", "update", "delete"]',
      'capabilities = ["create", "update", "delete"]',
    );
    expect(withoutRead).not.toBe(full);
    await vault.put(policyPath, { policy: withoutRead });
    try {
      await expect(
        asRole('listCandidates', policies.fleetFunctionPolicy('listCandidates'), SCENARIOS.listCandidates),
      ).rejects.toThrow();
      await asRole('listCandidates', policies.fleetFunctionPolicy('listCandidates'), async () => {
        const { handler } = await import('../../functions/listCandidates.js');
        const candidates = await handler({ input: { maxKeyAgeDays: 1 }, execution: EXECUTION });
        expect(candidates.due).toEqual([]);
        expect(candidates.failedUsers).toEqual([
          expect.objectContaining({ userName: pinned.userName, error: 'VaultPermissionDeniedError' }),
        ]);
      });
    } finally {
      await vault.put(policyPath, { policy: full });
    }
    expect(stack.aws.denials()).toEqual([]);
  });

  it.each(mutations)('$fn needs $action', async ({ fn, action, index }) => {
    const document = policies.fleetFunctionPolicy(fn);
    const offset = document.Statement.length - policies.FLEET_FUNCTION_STATEMENTS[fn].length;
    document.Statement = document.Statement.flatMap((statement, i) => {
      if (i !== offset + index) return [statement];
      const rest = list(statement.Action).filter((a) => a !== action);
      return rest.length === 0 ? [] : [{ ...statement, Action: rest }];
    });
    let roleArn = '';
    await expect(
      (async () => {
        roleArn = await asRole(fn, document, SCENARIOS[fn]);
      })(),
    ).rejects.toThrow();
    const denials = stack.aws.denials();
    expect(denials.length).toBeGreaterThan(0);
    expect(
      denials.every((d) => d.action === action && d.roleArn.endsWith(`/iam-key-rotator-local-${fn}`)),
    ).toBe(true);
    expect(roleArn).toBe('');
  });
});
