import { IAMClient, TagUserCommand } from '@aws-sdk/client-iam';
import { STSClient } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import policies from '../../deploy/policies.cjs';
import type { FleetFunctionName, PolicyDocument, Statement } from '../../deploy/policies.cjs';
import { withFunctionEnvironment } from '../../local-stack/function-environment.js';
import { renderLocally, roleWithPolicy } from '../../local-stack/function-roles.js';
import { localTarget, seedUser, type Target, USER_PATH } from '../../local-stack/provision.js';
import { prepareTarget } from '../../local-stack/rotation.js';
import { type LocalStack, startLocalStack } from '../../local-stack/stack.js';

let stack: LocalStack;
let target: Target;

beforeAll(async () => {
  stack = await startLocalStack();
  target = localTarget(stack);
  await prepareTarget(target);
  const iam = new IAMClient({
    region: stack.aws.region,
    endpoint: stack.aws.endpoint,
    credentials: stack.aws.adminCredentials,
  });
  await seedUser(target, 'fleet-policy-user');
  await iam.send(
    new TagUserCommand({
      UserName: 'fleet-policy-user',
      Tags: [{ Key: 'iam-key-rotator:rotate', Value: 'true' }],
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
  listCandidates: async () => {
    const { handler } = await import('../../functions/listCandidates.js');
    const candidates = await handler({ input: { maxKeyAgeDays: 1 }, execution: EXECUTION });
    expect(candidates.skipped).toContainEqual({
      accountId: stack.aws.accountId,
      userName: 'fleet-policy-user',
      reason: 'keyYoung',
    });
  },
  summarizeFleet: async () => {
    const { handler } = await import('../../functions/summarizeFleet.js');
    expect((await handler({ results: [], skipped: [], dryRun: false })).counts.failed).toBe(0);
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
    pinKeyArn: '',
    claimKeyArn: '',
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
