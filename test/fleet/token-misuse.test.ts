// Someone who reads a fleet child's task token (its input, in the rotation's history) and may start
// rotations answers the fleet's waiting task with a dry run of its own (of any user: the rotation
// machine answers whatever token its input carries). The fleet may not take that answer for a
// fact: a rotation fleet counts its user failed, not planned.
import {
  DescribeExecutionCommand,
  ListExecutionsCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FleetSummary } from '../../functions/summarizeFleet.js';
import type { Handler } from '../../local-stack/lambda.js';
import { localTarget, type Target } from '../../local-stack/provision.js';
import { prepareTarget } from '../../local-stack/rotation.js';
import { type LocalStack, startLocalStack } from '../../local-stack/stack.js';
import { loadHandlers } from '../../local-stack/state-machine.js';
import { accountUser, settled, TAG_KEY } from './support.js';

let stack: LocalStack;
let target: Target;
let sfn: SFNClient;
/** The fleet's child holds in VerifyKey (before its own signal) until this resolves. */
let release: () => void = () => undefined;
const held = new Promise<void>((resolve) => {
  release = resolve;
});
let reachedVerify: () => void = () => undefined;
const verifying = new Promise<void>((resolve) => {
  reachedVerify = resolve;
});

beforeAll(async () => {
  const real = await loadHandlers();
  const verifyKey: Handler = async (event) => {
    const request = (event as { request?: { dryRun?: boolean } }).request;
    if (request?.dryRun !== true) {
      reachedVerify();
      await held;
    }
    return (real.verifyKey as Handler)(event);
  };
  stack = await startLocalStack({
    stepFunctions: { waitMs: 0, retryPauseMs: 0, handlers: { ...real, verifyKey } },
  });
  process.env.VAULT_PATH_TEMPLATE = '{prefix}{accountId}/{userName}';
  process.env.ROTATOR_ACCOUNT_ID = stack.aws.accountId;
  target = localTarget(stack);
  await prepareTarget(target);
  sfn = new SFNClient({
    region: stack.aws.region,
    endpoint: stack.aws.endpoint,
    credentials: stack.aws.adminCredentials,
  });
});

afterAll(async () => {
  release();
  await stack.close();
});

describe('a fleet child’s task token answered by someone else', () => {
  it('with a dry run of its own: the rotation fleet counts the user failed (FleetResultsError), not planned', async () => {
    const home = stack.aws.accountId;
    await accountUser({ stack, target }, home, 'deputy', { tag: 'deputy', ageDays: 120 });
    // Any user the attacker may rotate: not in this fleet.
    const other = await accountUser({ stack, target }, home, 'bystander', { tag: 'no', ageDays: 1 });
    const { executionArn = '' } = await sfn.send(
      new StartExecutionCommand({
        stateMachineArn: stack.fleetStateMachineArn,
        input: JSON.stringify({ tagKey: TAG_KEY, tagValue: 'deputy' }),
      }),
    );
    await verifying;
    // The attacker: the child's input (its history, DescribeExecution) carries the token.
    const [child] =
      (await sfn.send(new ListExecutionsCommand({ stateMachineArn: stack.stateMachineArn }))).executions ??
      [];
    const described = await sfn.send(
      new DescribeExecutionCommand({ executionArn: child?.executionArn ?? '' }),
    );
    const { fleetTaskToken } = JSON.parse(described.input ?? '{}') as { fleetTaskToken?: string };
    expect(fleetTaskToken).toBeDefined();
    const forged = await sfn.send(
      new StartExecutionCommand({
        stateMachineArn: stack.stateMachineArn,
        input: JSON.stringify({ userName: other.userName, accountId: home, dryRun: true, fleetTaskToken }),
      }),
    );
    expect((await settled(sfn, forged.executionArn ?? '')).status).toBe('SUCCEEDED');
    release();

    const run = await settled(sfn, executionArn);
    const summary = JSON.parse(run.output ?? '{}') as FleetSummary;
    expect({ status: run.status, error: run.error, planned: summary.counts?.planned }).toEqual({
      status: 'FAILED',
      error: 'FleetRotationIncomplete',
      planned: undefined,
    });
    expect(run.cause).toContain('deputy (FleetResultsError)');
    // The fleet's own child went on and rotated the user all the same.
    expect((await settled(sfn, child?.executionArn ?? '')).status).toBe('SUCCEEDED');
  }, 60_000);
});
