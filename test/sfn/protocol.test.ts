import {
  DescribeExecutionCommand,
  DescribeStateMachineCommand,
  type ExecutionStatus,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  ListExecutionsCommand,
  ListStateMachinesCommand,
  ListTagsForResourceCommand,
  SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localTarget, seedUser, type Target } from '../../local-stack/provision.js';
import { prepareTarget } from '../../local-stack/rotation.js';
import { type LocalStack, startLocalStack } from '../../local-stack/stack.js';

let stack: LocalStack;
let target: Target;
let sfn: SFNClient;

beforeAll(async () => {
  // The grace period lasts long enough for StopExecution to find the execution waiting in it.
  stack = await startLocalStack({ stepFunctions: { waitMs: { GracePeriod: 60_000 }, retryPauseMs: 0 } });
  target = localTarget(stack);
  await prepareTarget(target);
  sfn = client();
});

afterAll(async () => {
  await stack.close();
});

function client(options: { maxAttempts?: number; secretAccessKey?: string } = {}): SFNClient {
  const { accessKeyId, secretAccessKey } = stack.aws.adminCredentials;
  return new SFNClient({
    region: stack.aws.region,
    endpoint: stack.aws.endpoint,
    credentials: { accessKeyId, secretAccessKey: options.secretAccessKey ?? secretAccessKey },
    maxAttempts: options.maxAttempts ?? 3,
  });
}

async function finished(executionArn: string): Promise<ExecutionStatus | undefined> {
  for (;;) {
    const { status } = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    if (status !== 'RUNNING') return status;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function history(executionArn: string): Promise<HistoryEvent[]> {
  const { events } = await sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000 }));
  return events ?? [];
}

const errorOf = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (error: { name: string; message: string; $metadata: { httpStatusCode?: number } }) => ({
      name: error.name,
      message: error.message,
      status: error.$metadata.httpStatusCode,
    }),
  );

describe('the Step Functions endpoint', () => {
  it('lists and describes the rotator state machine registered at start', async () => {
    const listed = await sfn.send(new ListStateMachinesCommand({}));
    expect(listed.stateMachines).toEqual([
      {
        stateMachineArn: stack.fleetStateMachineArn,
        name: 'iam-key-rotator-fleet-local',
        type: 'STANDARD',
        creationDate: expect.any(Date),
      },
      {
        stateMachineArn: stack.stateMachineArn,
        name: 'iam-key-rotator-local',
        type: 'STANDARD',
        creationDate: expect.any(Date),
      },
    ]);
    const described = await sfn.send(
      new DescribeStateMachineCommand({ stateMachineArn: stack.stateMachineArn }),
    );
    expect(described).toMatchObject({ name: 'iam-key-rotator-local', status: 'ACTIVE', type: 'STANDARD' });
    const definition = JSON.parse(described.definition ?? '{}') as { StartAt: string };
    expect(definition.StartAt).toBe('ValidateInput');
    expect(described.roleArn).toMatch(/^arn:aws:iam::\d{12}:role\//);
  });

  it('runs a rotation asynchronously after StartExecution and records AWS history events', async () => {
    const user = await seedUser(target, 'sfn-proto-ok');
    const started = await sfn.send(
      new StartExecutionCommand({
        stateMachineArn: stack.stateMachineArn,
        name: 'proto-ok',
        input: JSON.stringify({ userName: user.userName, dryRun: true }),
      }),
    );
    expect(started.executionArn).toBe(
      `${stack.stateMachineArn.replace(':stateMachine:', ':execution:')}:proto-ok`,
    );
    expect(started.startDate).toBeInstanceOf(Date);
    // StartExecution answers before the first state runs.
    const first = await sfn.send(new DescribeExecutionCommand({ executionArn: started.executionArn }));
    expect(first.status).toBe('RUNNING');

    expect(await finished(started.executionArn ?? '')).toBe('SUCCEEDED');
    const described = await sfn.send(new DescribeExecutionCommand({ executionArn: started.executionArn }));
    expect(described).toMatchObject({ name: 'proto-ok', stateMachineArn: stack.stateMachineArn });
    expect(described.stopDate?.getTime()).toBeGreaterThanOrEqual(described.startDate?.getTime() ?? 0);
    expect(JSON.parse(described.output ?? 'null')).toMatchObject({ created: { dryRun: true } });

    const events = await history(started.executionArn ?? '');
    expect(events.map((e) => e.type)).toEqual([
      'ExecutionStarted',
      'TaskStateEntered',
      'LambdaFunctionScheduled',
      'LambdaFunctionStarted',
      'LambdaFunctionSucceeded',
      'TaskStateExited',
      'TaskStateEntered',
      'LambdaFunctionScheduled',
      'LambdaFunctionStarted',
      'LambdaFunctionSucceeded',
      'TaskStateExited',
      'ChoiceStateEntered',
      'ChoiceStateExited',
      'SucceedStateEntered',
      'SucceedStateExited',
      'ExecutionSucceeded',
    ]);
    events.forEach((event, i) => {
      expect(event.id).toBe(i + 1);
      expect(event.previousEventId).toBe(i);
      expect(event.timestamp).toBeInstanceOf(Date);
      if (i > 0)
        expect(event.timestamp?.getTime()).toBeGreaterThanOrEqual(events[i - 1]?.timestamp?.getTime() ?? 0);
    });
    expect(events[0]?.executionStartedEventDetails).toMatchObject({
      input: JSON.stringify({ userName: user.userName, dryRun: true }),
      inputDetails: { truncated: false },
      roleArn: expect.stringContaining(':role/'),
    });
    expect(events[1]?.stateEnteredEventDetails?.name).toBe('ValidateInput');
    expect(events[2]?.lambdaFunctionScheduledEventDetails).toMatchObject({
      resource: expect.stringMatching(
        /^arn:aws:lambda:us-east-1:\d{12}:function:iam-key-rotator-local-validateInput$/,
      ),
      timeoutInSeconds: 70,
    });
    expect(JSON.parse(events[2]?.lambdaFunctionScheduledEventDetails?.input ?? '{}')).toMatchObject({
      input: { userName: user.userName },
      execution: started.executionArn,
    });
    expect(events.at(-1)?.executionSucceededEventDetails?.output).toBe(described.output);
  });

  it('pages the history forwards and backwards, with or without execution data', async () => {
    const executionArn = (
      await sfn.send(
        new ListExecutionsCommand({ stateMachineArn: stack.stateMachineArn, statusFilter: 'SUCCEEDED' }),
      )
    ).executions?.[0]?.executionArn;
    const all = await history(executionArn ?? '');
    const pages: HistoryEvent[][] = [];
    let nextToken: string | undefined;
    do {
      const page = await sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 5, nextToken }));
      pages.push(page.events ?? []);
      nextToken = page.nextToken;
    } while (nextToken);
    expect(pages.map((p) => p.length)).toEqual([5, 5, 5, 1]);
    expect(pages.flat()).toEqual(all);

    const reversed = await sfn.send(
      new GetExecutionHistoryCommand({ executionArn, reverseOrder: true, maxResults: 3 }),
    );
    expect(reversed.events?.map((e) => e.id)).toEqual([all.length, all.length - 1, all.length - 2]);
    const rest = await sfn.send(
      new GetExecutionHistoryCommand({ executionArn, reverseOrder: true, nextToken: reversed.nextToken }),
    );
    expect(rest.events?.at(-1)?.type).toBe('ExecutionStarted');

    const bare = await sfn.send(
      new GetExecutionHistoryCommand({ executionArn, includeExecutionData: false }),
    );
    expect(bare.events?.[0]?.executionStartedEventDetails).toEqual({
      inputDetails: { truncated: false },
      roleArn: expect.any(String),
    });
    expect(bare.events?.[1]?.stateEnteredEventDetails).toEqual({
      name: 'ValidateInput',
      inputDetails: { truncated: false },
    });

    // A token is bound to its listing and direction.
    expect(
      await errorOf(
        sfn.send(new GetExecutionHistoryCommand({ executionArn, nextToken: reversed.nextToken })),
      ),
    ).toMatchObject({ name: 'InvalidToken', status: 400 });
  });

  it('is idempotent for the same name and input while running, and refuses the name with other input', async () => {
    const user = await seedUser(target, 'sfn-proto-idem');
    const input = JSON.stringify({ userName: user.userName, graceSeconds: 300 });
    const first = await sfn.send(
      new StartExecutionCommand({ stateMachineArn: stack.stateMachineArn, name: 'idem', input }),
    );
    const again = await sfn.send(
      new StartExecutionCommand({ stateMachineArn: stack.stateMachineArn, name: 'idem', input }),
    );
    expect(again).toMatchObject({ executionArn: first.executionArn, startDate: first.startDate });
    const other = await errorOf(
      sfn.send(
        new StartExecutionCommand({
          stateMachineArn: stack.stateMachineArn,
          name: 'idem',
          input: JSON.stringify({ userName: user.userName }),
        }),
      ),
    );
    expect(other).toEqual({
      name: 'ExecutionAlreadyExists',
      message: `Execution Already Exists: '${first.executionArn}'`,
      status: 400,
    });

    // It now waits in GracePeriod (60 s here): StopExecution aborts it.
    for (;;) {
      const events = await history(first.executionArn ?? '');
      if (events.some((e) => e.type === 'WaitStateEntered')) break;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    const running = await sfn.send(
      new ListExecutionsCommand({ stateMachineArn: stack.stateMachineArn, statusFilter: 'RUNNING' }),
    );
    expect(running.executions?.map((e) => e.executionArn)).toEqual([first.executionArn]);
    const stopped = await sfn.send(
      new StopExecutionCommand({ executionArn: first.executionArn, error: 'Operator', cause: 'test' }),
    );
    expect(stopped.stopDate).toBeInstanceOf(Date);
    const described = await sfn.send(new DescribeExecutionCommand({ executionArn: first.executionArn }));
    expect(described).toMatchObject({ status: 'ABORTED', error: 'Operator', cause: 'test' });
    const events = await history(first.executionArn ?? '');
    expect(events.at(-2)?.type).toBe('WaitStateEntered');
    expect(events.at(-1)).toMatchObject({
      type: 'ExecutionAborted',
      executionAbortedEventDetails: { error: 'Operator', cause: 'test' },
    });
    // A closed execution's name cannot be reused, even with the same input.
    expect(
      await errorOf(
        sfn.send(new StartExecutionCommand({ stateMachineArn: stack.stateMachineArn, name: 'idem', input })),
      ),
    ).toMatchObject({ name: 'ExecutionAlreadyExists' });
  });

  it('records Lambda failures, retries and a Catch into a Fail state', async () => {
    const user = await seedUser(target, 'sfn-proto-fail');
    stack.traffic.addFault('iam:CreateAccessKey:ServiceUnavailablex1');
    stack.traffic.addFault('vault:kv-write:503x10');
    const { executionArn } = await sfn.send(
      new StartExecutionCommand({
        stateMachineArn: stack.stateMachineArn,
        input: JSON.stringify({ userName: user.userName }),
      }),
    );
    try {
      expect(await finished(executionArn ?? '')).toBe('FAILED');
    } finally {
      stack.traffic.clearFaults();
    }
    const described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    expect(described.error).toBe('VaultWriteFailed');
    const events = await history(executionArn ?? '');
    const types = events.map((e) => e.type);
    const failed = events.filter((e) => e.type === 'LambdaFunctionFailed');
    expect(failed[0]?.lambdaFunctionFailedEventDetails).toMatchObject({ error: 'AwsUnavailableError' });
    expect(JSON.parse(failed[0]?.lambdaFunctionFailedEventDetails?.cause ?? '{}')).toMatchObject({
      errorType: 'AwsUnavailableError',
    });
    expect(types).toContain('FailStateEntered');
    expect(types.at(-1)).toBe('ExecutionFailed');
    expect(events.at(-1)?.executionFailedEventDetails?.error).toBe('VaultWriteFailed');
    // The execution name defaults to a UUID.
    expect(described.name).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('lists executions newest first, filtered by status, in pages', async () => {
    const all = await sfn.send(new ListExecutionsCommand({ stateMachineArn: stack.stateMachineArn }));
    expect(all.executions?.length).toBeGreaterThanOrEqual(3);
    const first = await sfn.send(
      new ListExecutionsCommand({ stateMachineArn: stack.stateMachineArn, maxResults: 2 }),
    );
    const second = await sfn.send(
      new ListExecutionsCommand({
        stateMachineArn: stack.stateMachineArn,
        maxResults: 2,
        nextToken: first.nextToken,
      }),
    );
    expect([...(first.executions ?? []), ...(second.executions ?? [])].map((e) => e.executionArn)).toEqual(
      all.executions?.slice(0, 4).map((e) => e.executionArn),
    );
    const starts = all.executions?.map((e) => e.startDate?.getTime() ?? 0) ?? [];
    expect(starts).toEqual([...starts].sort((a, b) => b - a));
    const aborted = await sfn.send(
      new ListExecutionsCommand({ stateMachineArn: stack.stateMachineArn, statusFilter: 'ABORTED' }),
    );
    expect(aborted.executions?.map((e) => e.name)).toEqual(['idem']);
  });

  it('answers each error in the AWS JSON error shape', async () => {
    const machine = stack.stateMachineArn;
    const missingMachine = machine.replace('iam-key-rotator-local', 'nope');
    const missingExecution = machine.replace(':stateMachine:', ':execution:') + ':nope';
    expect(
      await errorOf(sfn.send(new DescribeStateMachineCommand({ stateMachineArn: missingMachine }))),
    ).toEqual({
      name: 'StateMachineDoesNotExist',
      message: `State Machine Does Not Exist: '${missingMachine}'`,
      status: 400,
    });
    expect(
      await errorOf(sfn.send(new DescribeExecutionCommand({ executionArn: missingExecution }))),
    ).toMatchObject({ name: 'ExecutionDoesNotExist', status: 400 });
    expect(
      await errorOf(sfn.send(new GetExecutionHistoryCommand({ executionArn: missingExecution }))),
    ).toMatchObject({ name: 'ExecutionDoesNotExist' });
    expect(
      await errorOf(sfn.send(new StopExecutionCommand({ executionArn: missingExecution }))),
    ).toMatchObject({ name: 'ExecutionDoesNotExist' });
    expect(
      await errorOf(sfn.send(new DescribeExecutionCommand({ executionArn: 'not-an-arn' }))),
    ).toMatchObject({ name: 'InvalidArn' });
    expect(await errorOf(sfn.send(new DescribeExecutionCommand({ executionArn: machine })))).toMatchObject({
      name: 'InvalidArn',
    });
    expect(
      await errorOf(sfn.send(new ListExecutionsCommand({ stateMachineArn: missingExecution }))),
    ).toMatchObject({ name: 'InvalidArn' });
    for (const name of ['', 'a'.repeat(81), 'has space', 'a/b', 'a:b', 'star*', 'tab\t', 'ctl\u0001']) {
      expect(
        await errorOf(sfn.send(new StartExecutionCommand({ stateMachineArn: machine, name, input: '{}' }))),
      ).toMatchObject({ name: 'InvalidName', status: 400 });
    }
    expect(
      await errorOf(sfn.send(new StartExecutionCommand({ stateMachineArn: machine, input: '{not json' }))),
    ).toMatchObject({ name: 'InvalidExecutionInput' });
    const big = JSON.stringify({ pad: 'x'.repeat(256 * 1024) });
    expect(
      await errorOf(sfn.send(new StartExecutionCommand({ stateMachineArn: machine, input: big }))),
    ).toMatchObject({ name: 'InvalidExecutionInput' });
    expect(
      await errorOf(sfn.send(new StartExecutionCommand({ stateMachineArn: missingMachine, input: '{}' }))),
    ).toMatchObject({ name: 'StateMachineDoesNotExist' });
    // An 80-character name is allowed.
    const ok = await sfn.send(
      new StartExecutionCommand({
        stateMachineArn: machine,
        name: 'n'.repeat(80),
        input: '{"userName":"nobody-at-all"}',
      }),
    );
    expect(await finished(ok.executionArn ?? '')).toBe('FAILED');
  });

  it('lists the rotator’s tags: the floors of its functions’ environment; ResourceNotFound, InvalidArn', async () => {
    const tagsOf = async (resourceArn: string) =>
      (await sfn.send(new ListTagsForResourceCommand({ resourceArn }))).tags;
    expect(await tagsOf(stack.stateMachineArn)).toEqual([
      { key: 'iam-key-rotator:minGraceSeconds', value: '300' },
      { key: 'iam-key-rotator:minRecoverySeconds', value: '3600' },
      { key: 'iam-key-rotator:allowOldKeyInUseProceed', value: 'false' },
      { key: 'iam-key-rotator:allowVaultPathMove', value: 'false' },
      { key: 'iam-key-rotator:allowDeleteInactiveKey', value: 'false' },
      { key: 'iam-key-rotator:allowVaultPathAdopt', value: 'false' },
    ]);
    // The tags follow the environment the in-process functions read (rotatorEnvironment sets it).
    const saved = process.env.ROTATOR_MIN_GRACE_SECONDS;
    process.env.ROTATOR_MIN_GRACE_SECONDS = '60';
    try {
      expect(await tagsOf(stack.stateMachineArn)).toContainEqual({
        key: 'iam-key-rotator:minGraceSeconds',
        value: '60',
      });
    } finally {
      if (saved === undefined) delete process.env.ROTATOR_MIN_GRACE_SECONDS;
      else process.env.ROTATOR_MIN_GRACE_SECONDS = saved;
    }
    expect(await tagsOf(stack.fleetStateMachineArn)).toEqual([]);

    const unknown = stack.stateMachineArn.replace(/:stateMachine:.*/, ':stateMachine:no-such-machine');
    expect(await errorOf(tagsOf(unknown))).toEqual({
      name: 'ResourceNotFound',
      message: `Resource Not Found: '${unknown}'`,
      status: 400,
    });
    expect((await errorOf(tagsOf('not-an-arn'))).name).toBe('InvalidArn');
  });

  it('serves another registered machine beside the rotator, and pages ListStateMachines', async () => {
    // What the fleet machine will do: register a spec with its own runner on the same endpoint.
    const otherArn = stack.aws.stepFunctions.machines.register({
      name: 'another-machine',
      definition: JSON.stringify({ StartAt: 'Done', States: { Done: { Type: 'Pass', End: true } } }),
      roleArn: 'arn:aws:iam::123456789012:role/another',
      tasks: {},
      run: async ({ input, onEvent }) => {
        const state = { name: 'Done', type: 'Pass', input };
        onEvent({ type: 'StateEntered', timestamp: Date.now(), state });
        onEvent({ type: 'StateExited', timestamp: Date.now(), state: { ...state, output: input } });
        onEvent({ type: 'ExecutionSucceeded', timestamp: Date.now(), output: input });
      },
    });
    const first = await sfn.send(new ListStateMachinesCommand({ maxResults: 2 }));
    const second = await sfn.send(
      new ListStateMachinesCommand({ maxResults: 2, nextToken: first.nextToken }),
    );
    expect(
      [...(first.stateMachines ?? []), ...(second.stateMachines ?? [])].map((m) => m.stateMachineArn),
    ).toEqual([otherArn, stack.fleetStateMachineArn, stack.stateMachineArn]);
    expect(second.nextToken).toBeUndefined();
    const { executionArn } = await sfn.send(
      new StartExecutionCommand({ stateMachineArn: otherArn, input: '{"n":1}' }),
    );
    expect(executionArn).toContain(':execution:another-machine:');
    expect(await finished(executionArn ?? '')).toBe('SUCCEEDED');
    expect((await history(executionArn ?? '')).map((e) => e.type)).toEqual([
      'ExecutionStarted',
      'PassStateEntered',
      'PassStateExited',
      'ExecutionSucceeded',
    ]);
    const listed = await sfn.send(new ListExecutionsCommand({ stateMachineArn: otherArn }));
    expect(listed.executions?.map((e) => e.executionArn)).toEqual([executionArn]);
  });

  it('refuses a request with a bad SigV4 signature', async () => {
    const forged = client({ secretAccessKey: 'not-the-secret', maxAttempts: 1 });
    expect(await errorOf(forged.send(new ListStateMachinesCommand({})))).toMatchObject({
      name: 'InvalidSignatureException',
      status: 400,
    });
  });

  it('counts StartExecution and lets the SDK retry an injected ThrottlingException', async () => {
    stack.traffic.resetCalls();
    stack.traffic.addFault('sfn:StartExecution:ThrottlingExceptionx2');
    try {
      const { executionArn } = await sfn.send(
        new StartExecutionCommand({
          stateMachineArn: stack.stateMachineArn,
          input: '{"userName":"nobody-either"}',
        }),
      );
      expect(executionArn).toBeDefined();
      expect(stack.traffic.calls()['sfn:StartExecution']).toBe(3);
      await finished(executionArn ?? '');
    } finally {
      stack.traffic.clearFaults();
    }
    const once = client({ maxAttempts: 1 });
    stack.traffic.addFault('sfn:StartExecution:ThrottlingException');
    try {
      expect(
        await errorOf(
          once.send(new StartExecutionCommand({ stateMachineArn: stack.stateMachineArn, input: '{}' })),
        ),
      ).toMatchObject({ name: 'ThrottlingException', status: 400 });
    } finally {
      stack.traffic.clearFaults();
    }
  });
});
