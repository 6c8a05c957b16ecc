import {
  DescribeExecutionCommand,
  type ExecutionStatus,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  ListExecutionsCommand,
  SendTaskFailureCommand,
  SendTaskHeartbeatCommand,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import type { StateMachineDefinition } from 'aws-local-stepfunctions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localTarget, seedUser, type Target } from '../../local-stack/provision.js';
import { prepareTarget } from '../../local-stack/rotation.js';
import { aslMachine } from '../../local-stack/sfn/index.js';
import { type LocalStack, startLocalStack } from '../../local-stack/stack.js';

let stack: LocalStack;
let target: Target;
let sfn: SFNClient;

/** A parent that rotates `$.userName` with a child execution of the rotator, in one integration pattern. */
function parent(name: string, pattern: string, input: Record<string, unknown>): string {
  const definition = {
    StartAt: 'Rotate',
    States: {
      Rotate: {
        Type: 'Task',
        Resource: `arn:aws:states:::states:${pattern}`,
        Parameters: {
          StateMachineArn: stack.stateMachineArn,
          Input: { 'userName.$': '$.userName', ...input },
        },
        End: true,
      },
    },
  } as unknown as StateMachineDefinition;
  return stack.aws.stepFunctions.machines.register(
    aslMachine({
      name,
      definition,
      roleArn: 'arn:aws:iam::123456789012:role/parent',
      sfn: stack.aws.stepFunctions,
    }),
  );
}

beforeAll(async () => {
  stack = await startLocalStack({ stepFunctions: { waitMs: { GracePeriod: 60_000 }, retryPauseMs: 0 } });
  target = localTarget(stack);
  await prepareTarget(target);
  sfn = new SFNClient({
    region: stack.aws.region,
    endpoint: stack.aws.endpoint,
    credentials: stack.aws.adminCredentials,
  });
});

afterAll(async () => {
  await stack.close();
});

async function finished(executionArn: string): Promise<ExecutionStatus | undefined> {
  for (;;) {
    const { status } = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    if (status !== 'RUNNING') return status;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const history = async (executionArn: string): Promise<HistoryEvent[]> =>
  (await sfn.send(new GetExecutionHistoryCommand({ executionArn }))).events ?? [];

describe('a Task that starts a child execution on the same endpoint', () => {
  it('.sync:2 waits for the child and returns its description with the output as JSON', async () => {
    await seedUser(target, 'child-ok');
    const machine = parent('parent-sync2', 'startExecution.sync:2', { dryRun: true });
    const { executionArn } = await sfn.send(
      new StartExecutionCommand({ stateMachineArn: machine, input: '{"userName":"child-ok"}' }),
    );
    expect(await finished(executionArn ?? '')).toBe('SUCCEEDED');

    const output = JSON.parse(
      (await sfn.send(new DescribeExecutionCommand({ executionArn }))).output ?? '{}',
    ) as {
      ExecutionArn: string;
      Status: string;
      Output: { created: { dryRun: boolean } };
    };
    expect(output).toMatchObject({ Status: 'SUCCEEDED', Output: { created: { dryRun: true } } });
    expect(output.ExecutionArn).toContain(':execution:iam-key-rotator-local:');
    const children = await sfn.send(new ListExecutionsCommand({ stateMachineArn: stack.stateMachineArn }));
    expect(children.executions?.map((e) => e.executionArn)).toContain(output.ExecutionArn);

    const events = await history(executionArn ?? '');
    expect(events.map((e) => e.type)).toEqual([
      'ExecutionStarted',
      'TaskStateEntered',
      'TaskScheduled',
      'TaskStarted',
      'TaskSucceeded',
      'TaskStateExited',
      'ExecutionSucceeded',
    ]);
    expect(events[2]?.taskScheduledEventDetails).toEqual({
      resourceType: 'states',
      resource: 'startExecution.sync:2',
      region: 'us-east-1',
      parameters: JSON.stringify({
        StateMachineArn: stack.stateMachineArn,
        Input: { userName: 'child-ok', dryRun: true },
      }),
    });
  });

  it('fails the parent with States.TaskFailed when the child fails', async () => {
    const machine = parent('parent-fails', 'startExecution.sync:2', {});
    const { executionArn } = await sfn.send(
      new StartExecutionCommand({ stateMachineArn: machine, input: '{"userName":"child-missing"}' }),
    );
    expect(await finished(executionArn ?? '')).toBe('FAILED');
    const described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    expect(described.error).toBe('States.TaskFailed');
    expect(JSON.parse(described.cause ?? '{}')).toMatchObject({
      Status: 'FAILED',
      Error: 'UserNotFoundError',
    });
    expect(
      (await history(executionArn ?? '')).find((e) => e.type === 'TaskFailed')?.taskFailedEventDetails,
    ).toMatchObject({
      resourceType: 'states',
      resource: 'startExecution.sync:2',
      error: 'States.TaskFailed',
    });
  });

  it('the async pattern returns the child ARN at once; stopping a .sync parent stops its child', async () => {
    await seedUser(target, 'child-async');
    const asyncParent = parent('parent-async', 'startExecution', { dryRun: true });
    const started = await sfn.send(
      new StartExecutionCommand({ stateMachineArn: asyncParent, input: '{"userName":"child-async"}' }),
    );
    expect(await finished(started.executionArn ?? '')).toBe('SUCCEEDED');
    const output = JSON.parse(
      (await sfn.send(new DescribeExecutionCommand({ executionArn: started.executionArn }))).output ?? '{}',
    ) as { ExecutionArn: string; StartDate: number };
    expect(output.ExecutionArn).toContain(':execution:iam-key-rotator-local:');
    expect(await finished(output.ExecutionArn)).toBe('SUCCEEDED');

    await seedUser(target, 'child-stop');
    const syncParent = parent('parent-stop', 'startExecution.sync', {});
    const { executionArn } = await sfn.send(
      new StartExecutionCommand({ stateMachineArn: syncParent, input: '{"userName":"child-stop"}' }),
    );
    let childArn: string | undefined;
    for (;;) {
      const listed = await sfn.send(
        new ListExecutionsCommand({ stateMachineArn: stack.stateMachineArn, statusFilter: 'RUNNING' }),
      );
      childArn = listed.executions?.[0]?.executionArn;
      if (childArn && (await history(childArn)).some((e) => e.type === 'WaitStateEntered')) break;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    await sfn.send(new StopExecutionCommand({ executionArn }));
    expect(await finished(childArn)).toBe('ABORTED');
    expect((await sfn.send(new DescribeExecutionCommand({ executionArn: childArn }))).error).toBe(
      'States.Aborted',
    );
  });

  it('.waitForTaskToken waits for SendTaskSuccess or SendTaskFailure with the token the child was given', async () => {
    const childArn = stack.aws.stepFunctions.machines.register({
      name: 'token-child',
      definition: '{"StartAt":"Done","States":{"Done":{"Type":"Succeed"}}}',
      roleArn: 'arn:aws:iam::123456789012:role/child',
      tasks: {},
      run: async ({ input, onEvent }) => {
        onEvent({ type: 'ExecutionSucceeded', timestamp: Date.now(), output: input });
      },
    });
    const definition = {
      StartAt: 'Delegate',
      States: {
        Delegate: {
          Type: 'Task',
          Resource: 'arn:aws:states:::states:startExecution.waitForTaskToken',
          Parameters: { StateMachineArn: childArn, Input: { 'token.$': '$$.Task.Token', 'n.$': '$.n' } },
          End: true,
        },
      },
    } as unknown as StateMachineDefinition;
    const parentArn = stack.aws.stepFunctions.machines.register(
      aslMachine({
        name: 'token-parent',
        definition,
        roleArn: 'arn:aws:iam::123456789012:role/p',
        sfn: stack.aws.stepFunctions,
      }),
    );
    /** Starts the parent and returns the token its child received. */
    const delegate = async (n: number): Promise<{ executionArn: string; token: string }> => {
      const { executionArn } = await sfn.send(
        new StartExecutionCommand({ stateMachineArn: parentArn, input: JSON.stringify({ n }) }),
      );
      for (;;) {
        const listed = await sfn.send(new ListExecutionsCommand({ stateMachineArn: childArn }));
        for (const item of listed.executions ?? []) {
          const child = await sfn.send(new DescribeExecutionCommand({ executionArn: item.executionArn }));
          const input = JSON.parse(child.input ?? '{}') as { n: number; token: string };
          if (input.n === n) return { executionArn: executionArn ?? '', token: input.token };
        }
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    };

    const ok = await delegate(1);
    await sfn.send(new SendTaskHeartbeatCommand({ taskToken: ok.token }));
    await expect(
      sfn.send(new SendTaskSuccessCommand({ taskToken: ok.token, output: 'not json' })),
    ).rejects.toMatchObject({ name: 'InvalidOutput' });
    expect((await sfn.send(new DescribeExecutionCommand({ executionArn: ok.executionArn }))).status).toBe(
      'RUNNING',
    );
    await sfn.send(new SendTaskSuccessCommand({ taskToken: ok.token, output: '{"done":true}' }));
    expect(await finished(ok.executionArn)).toBe('SUCCEEDED');
    expect((await sfn.send(new DescribeExecutionCommand({ executionArn: ok.executionArn }))).output).toBe(
      '{"done":true}',
    );
    await expect(
      sfn.send(new SendTaskSuccessCommand({ taskToken: ok.token, output: '{}' })),
    ).rejects.toMatchObject({ name: 'TaskDoesNotExist' });
    await expect(sfn.send(new SendTaskFailureCommand({ taskToken: 'short' }))).rejects.toMatchObject({
      name: 'InvalidToken',
    });

    const no = await delegate(2);
    await sfn.send(
      new SendTaskFailureCommand({ taskToken: no.token, error: 'ChildSaidNo', cause: 'because' }),
    );
    expect(await finished(no.executionArn)).toBe('FAILED');
    expect(await sfn.send(new DescribeExecutionCommand({ executionArn: no.executionArn }))).toMatchObject({
      error: 'ChildSaidNo',
      cause: 'because',
    });
  });
});
