// Someone who reads a fleet child's task token (its input, in the rotation's history) and may start
// rotations answers the fleet's waiting task with a dry run of its own (of any user: the rotation
// machine answers whatever token its input carries), or with a real rotation of another user. The
// fleet may not take that answer for a fact: it counts its own user failed, neither planned nor
// rotated (the answer names another user).
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

/** Users whose rotation holds in VerifyKey (before its own signal) until released. */
const holds = new Map<string, { reached: () => void; release: () => void; held: Promise<void> }>();
function hold(userName: string): { reached: Promise<void>; release: () => void } {
  let reached: () => void = () => undefined;
  let release: () => void = () => undefined;
  const reachedAt = new Promise<void>((resolve) => {
    reached = resolve;
  });
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  holds.set(userName, { reached, release, held });
  return { reached: reachedAt, release };
}

beforeAll(async () => {
  const real = await loadHandlers();
  const verifyKey: Handler = async (event) => {
    const request = (event as { request?: { userName?: string; dryRun?: boolean } }).request;
    const held = holds.get(request?.userName ?? '');
    if (held && request?.dryRun !== true) {
      held.reached();
      await held.held;
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
  for (const held of holds.values()) held.release();
  await stack.close();
});

describe('a fleet child’s task token answered by someone else', () => {
  it.each([
    { forgedDryRun: true, deputy: 'deputy', bystander: 'bystander' },
    { forgedDryRun: false, deputy: 'deputy-2', bystander: 'bystander-2' },
  ])(
    'with a rotation of another user (dry run: $forgedDryRun): the fleet counts its own user failed (FleetResultsError)',
    async ({ forgedDryRun, deputy, bystander }) => {
      const home = stack.aws.accountId;
      const { reached, release } = hold(deputy);
      await accountUser({ stack, target }, home, deputy, { tag: deputy, ageDays: 120 });
      // Any user the attacker may rotate: not in this fleet.
      const other = await accountUser({ stack, target }, home, bystander, { tag: 'no', ageDays: 1 });
      const { executionArn = '' } = await sfn.send(
        new StartExecutionCommand({
          stateMachineArn: stack.fleetStateMachineArn,
          input: JSON.stringify({ tagKey: TAG_KEY, tagValue: deputy }),
        }),
      );
      await reached;
      // The attacker: the child's input (its history, DescribeExecution) carries the token.
      const executions =
        (await sfn.send(new ListExecutionsCommand({ stateMachineArn: stack.stateMachineArn }))).executions ??
        [];
      const child = executions.find((e) => e.name?.endsWith(`-${deputy}`));
      const described = await sfn.send(
        new DescribeExecutionCommand({ executionArn: child?.executionArn ?? '' }),
      );
      const { fleetTaskToken } = JSON.parse(described.input ?? '{}') as { fleetTaskToken?: string };
      expect(fleetTaskToken).toBeDefined();
      const forged = await sfn.send(
        new StartExecutionCommand({
          stateMachineArn: stack.stateMachineArn,
          input: JSON.stringify({
            userName: other.userName,
            accountId: home,
            dryRun: forgedDryRun,
            fleetTaskToken,
          }),
        }),
      );
      expect((await settled(sfn, forged.executionArn ?? '')).status).toBe('SUCCEEDED');
      release();

      const run = await settled(sfn, executionArn);
      const summary = JSON.parse(run.output ?? '{}') as FleetSummary;
      expect({
        status: run.status,
        error: run.error,
        planned: summary.counts?.planned,
        rotated: summary.counts?.rotated,
      }).toEqual({
        status: 'FAILED',
        error: 'FleetRotationIncomplete',
        planned: undefined,
        rotated: undefined,
      });
      expect(run.cause).toContain(`${deputy} (FleetResultsError)`);
      // The fleet's own child went on and rotated the user all the same.
      expect((await settled(sfn, child?.executionArn ?? '')).status).toBe('SUCCEEDED');
    },
    60_000,
  );
});
