import { IAMClient, TagUserCommand } from '@aws-sdk/client-iam';
import {
  DescribeExecutionCommand,
  SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OWNER_TAG } from '../../functions/commons/ownership.js';
import { localTarget, seedUser, type Target } from '../../local-stack/provision.js';
import { prepareTarget } from '../../local-stack/rotation.js';
import { type LocalStack, startLocalStack } from '../../local-stack/stack.js';
import { runCliInProcess } from '../support/cli-in-process.js';
import { operatorEnv } from '../support/local-stack.js';

let stack: LocalStack;
let target: Target;

beforeAll(async () => {
  // --grace 3600 keeps an execution in GracePeriod for 36 s.
  stack = await startLocalStack({ stepFunctions: { waitScale: 0.01, retryPauseMs: 0 } });
  target = localTarget(stack);
  await prepareTarget(target);
});

afterAll(async () => {
  await stack.close();
});

const cli = (args: string[]) => runCliInProcess(args, { env: operatorEnv(stack) });

const clientConfig = () => ({
  region: stack.aws.region,
  endpoint: stack.aws.endpoint,
  credentials: stack.aws.adminCredentials,
});

/** Writes the claim tag as the rotator does (ARN, then a digest), naming `executionArn`. */
const claim = (userName: string, executionArn: string) =>
  new IAMClient(clientConfig()).send(
    new TagUserCommand({ UserName: userName, Tags: [{ Key: OWNER_TAG, Value: `${executionArn} forged` }] }),
  );

const statusOf = async (executionArn: string) =>
  (await new SFNClient(clientConfig()).send(new DescribeExecutionCommand({ executionArn }))).status;

describe('history and stop given a user follow only a rotation of that user', () => {
  it("stop alice does not stop bob's execution named in alice's claim tag; history says what it found", async () => {
    await seedUser(target, 'claim-alice');
    await seedUser(target, 'claim-bob');
    const started = await cli(['rotate', 'claim-bob', '--grace', '3600', '--json']);
    expect(started.code).toBe(0);
    const { executionArn } = JSON.parse(started.stdout) as { executionArn: string };
    await claim('claim-alice', executionArn);

    const stop = await cli(['stop', 'claim-alice']);
    expect(stop.code).toBe(1);
    expect(stop.stderr).toContain(`user claim-alice's claim tag names ${executionArn}`);
    expect(stop.stderr).toContain('names user claim-bob');
    expect(stop.stdout).toBe('');
    expect(await statusOf(executionArn)).toBe('RUNNING');

    const history = await cli(['history', 'claim-alice', '--json']);
    expect(history.code).toBe(1);
    expect(history.stdout).toBe('');
    expect(history.stderr).toContain('not followed');

    // Bob's own claim names his rotation: followed.
    const own = await cli(['stop', 'claim-bob', '--json']);
    expect(own.code).toBe(0);
    expect(JSON.parse(own.stdout)).toMatchObject({ executionArn });
    expect(await statusOf(executionArn)).toBe('ABORTED');
  });

  it('refuses an execution of another state machine named in the claim tag, and stops nothing', async () => {
    await seedUser(target, 'claim-carol');
    const otherArn = stack.aws.stepFunctions.machines.register({
      name: 'not-the-rotator',
      definition: JSON.stringify({ StartAt: 'Wait', States: { Wait: { Type: 'Pass', End: true } } }),
      roleArn: 'arn:aws:iam::123456789012:role/not-the-rotator',
      tasks: {},
      tags: () => ({}),
      // Runs until stopped.
      run: ({ signal }) =>
        new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true })),
    });
    const started = await cli(['rotate', 'claim-carol', '--state-machine-arn', otherArn, '--json']);
    expect(started.code).toBe(0);
    const { executionArn } = JSON.parse(started.stdout) as { executionArn: string };
    await claim('claim-carol', executionArn);

    const stop = await cli(['stop', 'claim-carol']);
    expect(stop.code).toBe(1);
    expect(stop.stderr).toContain(`not of the rotation machine ${stack.stateMachineArn}`);
    expect(await statusOf(executionArn)).toBe('RUNNING');
    await new SFNClient(clientConfig()).send(new StopExecutionCommand({ executionArn }));
  });

  it('refuses a claim tag that holds no execution ARN instead of searching by name', async () => {
    await seedUser(target, 'claim-dave');
    await new IAMClient(clientConfig()).send(
      new TagUserCommand({
        UserName: 'claim-dave',
        Tags: [{ Key: OWNER_TAG, Value: 'not-an-arn\u001b[2J' }],
      }),
    );
    const stop = await cli(['stop', 'claim-dave']);
    expect(stop.code).toBe(1);
    expect(stop.stderr).toContain("user claim-dave's claim tag holds no execution ARN (not-an-arn?[2J)");
    expect(stop.stdout).toBe('');
  });

  it('finds a user with no claim tag only among rotations of that user in its own account', async () => {
    await seedUser(target, 'claim-erin');
    // The same name in another account: another user, whatever its execution's state.
    const started = await new SFNClient(clientConfig()).send(
      new StartExecutionCommand({
        stateMachineArn: stack.stateMachineArn,
        input: JSON.stringify({ userName: 'claim-erin', accountId: '222222222222' }),
      }),
    );
    const history = await cli(['history', 'claim-erin', '--json']);
    expect(history.stdout).not.toContain(started.executionArn ?? 'none');
    expect(history.stderr).toContain('no execution found for user claim-erin');
  });
});
