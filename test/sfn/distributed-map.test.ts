import { CreateRoleCommand, IAMClient, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  DescribeExecutionCommand,
  DescribeMapRunCommand,
  type DescribeMapRunCommandOutput,
  type ExecutionStatus,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  ListExecutionsCommand,
  ListMapRunsCommand,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import type { StateMachineDefinition } from 'aws-local-stepfunctions';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startAwsEmulator, type AwsEmulator } from '../../local-stack/aws/index.js';
import type { Handler } from '../../local-stack/lambda.js';
import { aslMachine } from '../../local-stack/sfn/index.js';

const ROLE = 'arn:aws:iam::123456789012:role/dmap-tests';
const WORK = 'arn:aws:lambda:us-east-1:123456789012:function:work';

let emulator: AwsEmulator;
let sfn: SFNClient;
let s3: S3Client;
let iam: IAMClient;
const BUCKET = 'dmap-tests';

/** The `work` function's calls: how many ran at once, at most. */
const work = { running: 0, peak: 0, delayMs: 5 };
const workHandler: Handler = async (event) => {
  const input = event as { fail?: boolean; value?: unknown };
  work.running += 1;
  work.peak = Math.max(work.peak, work.running);
  await new Promise((resolve) => setTimeout(resolve, work.delayMs));
  work.running -= 1;
  if (input.fail)
    throw Object.assign(new Error(`item ${JSON.stringify(input.value)} failed`), { name: 'ItemError' });
  return { done: input.value ?? input };
};

beforeAll(async () => {
  emulator = await startAwsEmulator();
  const config = {
    region: emulator.region,
    endpoint: emulator.endpoint,
    credentials: emulator.adminCredentials,
  };
  sfn = new SFNClient(config);
  s3 = new S3Client({ ...config, forcePathStyle: true });
  iam = new IAMClient(config);
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
});

afterAll(async () => {
  await emulator.close();
});

afterEach(() => {
  emulator.traffic.clearFaults();
  work.peak = 0;
});

let machines = 0;
/** Registers a machine on the emulator's Step Functions; its Task `work` runs workHandler. */
function register(definition: object, roleArn = ROLE): string {
  machines += 1;
  return emulator.stepFunctions.machines.register(
    aslMachine({
      name: `dmap-${machines}`,
      definition: definition as StateMachineDefinition,
      roleArn,
      sfn: emulator.stepFunctions,
      lambdas: { [WORK]: workHandler },
      retryPauseMs: 0,
    }),
  );
}

/** A Distributed Map state: ItemProcessor `processor` (default: the `work` Task), other fields given. */
function distributedMap(fields: object, processor?: object): Record<string, unknown> {
  return {
    Type: 'Map',
    ItemProcessor: {
      ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' },
      ...(processor ?? { StartAt: 'Work', States: { Work: { Type: 'Task', Resource: WORK, End: true } } }),
    },
    ...('Next' in fields ? {} : { End: true }),
    ...fields,
  };
}

const machineOf = (map: Record<string, unknown>, extra: Record<string, unknown> = {}, roleArn = ROLE) =>
  register({ StartAt: 'Each', States: { Each: map, ...extra } }, roleArn);

async function put(key: string, body: string): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
}

async function read(key: string): Promise<string> {
  const object = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return (await object.Body?.transformToString()) ?? '';
}

async function start(stateMachineArn: string, input: unknown = {}): Promise<string> {
  const { executionArn } = await sfn.send(
    new StartExecutionCommand({ stateMachineArn, input: JSON.stringify(input) }),
  );
  return executionArn ?? '';
}

async function finished(executionArn: string) {
  for (;;) {
    const described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    if (described.status !== 'RUNNING') return described;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function run(stateMachineArn: string, input: unknown = {}) {
  const described = await finished(await start(stateMachineArn, input));
  return {
    ...described,
    result: described.output === undefined ? undefined : (JSON.parse(described.output) as unknown),
  };
}

async function history(executionArn: string): Promise<HistoryEvent[]> {
  const { events } = await sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000 }));
  return events ?? [];
}

async function mapRunOf(executionArn: string): Promise<DescribeMapRunCommandOutput> {
  const { mapRuns } = await sfn.send(new ListMapRunsCommand({ executionArn }));
  return sfn.send(new DescribeMapRunCommand({ mapRunArn: mapRuns?.[0]?.mapRunArn }));
}

async function children(mapRunArn: string, statusFilter?: ExecutionStatus) {
  const { executions } = await sfn.send(
    new ListExecutionsCommand({ mapRunArn, statusFilter, maxResults: 1000 }),
  );
  return executions ?? [];
}

describe('a Distributed Map reading its items from S3', () => {
  it('reads every object an ATHENA_DATA manifest lists, JSON Lines, in order, with $$.Map.Item context', async () => {
    await put('athena/a.jsonl', '{"user":"alice"}\n{"user":"bob"}\n');
    await put('athena/b.jsonl', '{"user":"carol"}\n\n');
    await put('athena/run.manifest', `s3://${BUCKET}/athena/a.jsonl\ns3://${BUCKET}/athena/b.jsonl\n`);
    const machine = machineOf(
      distributedMap(
        {
          ItemReader: {
            Resource: 'arn:aws:states:::s3:getObject',
            ReaderConfig: { ManifestType: 'ATHENA_DATA', InputType: 'JSONL' },
            Parameters: { 'Bucket.$': '$.bucket', 'Key.$': '$.manifest' },
          },
          ItemSelector: {
            'user.$': '$$.Map.Item.Value.user',
            'index.$': '$$.Map.Item.Index',
            'source.$': '$$.Map.Item.Source',
            'batch.$': '$.batch',
            'execution.$': '$$.Execution.Name',
            constant: 'c',
          },
          Label: 'Users',
        },
        { StartAt: 'Echo', States: { Echo: { Type: 'Pass', End: true } } },
      ),
    );
    const done = await run(machine, { bucket: BUCKET, manifest: 'athena/run.manifest', batch: 7 });
    expect(done.status).toBe('SUCCEEDED');
    const name = done.name ?? '';
    expect(done.result).toEqual([
      {
        user: 'alice',
        index: 0,
        source: `S3://${BUCKET}/athena/a.jsonl`,
        batch: 7,
        execution: name,
        constant: 'c',
      },
      {
        user: 'bob',
        index: 1,
        source: `S3://${BUCKET}/athena/a.jsonl`,
        batch: 7,
        execution: name,
        constant: 'c',
      },
      {
        user: 'carol',
        index: 2,
        source: `S3://${BUCKET}/athena/b.jsonl`,
        batch: 7,
        execution: name,
        constant: 'c',
      },
    ]);
    // The selector's key order is the template's.
    expect(Object.keys((done.result as object[])[0] ?? {})).toEqual([
      'user',
      'index',
      'source',
      'batch',
      'execution',
      'constant',
    ]);
  });

  it('reads a JSON array, honours MaxItems, and runs items of the state input (ItemsPath) as STATE_DATA', async () => {
    await put('json/items.json', JSON.stringify([{ n: 1 }, { n: 2 }, { n: 3 }]));
    const fromS3 = machineOf(
      distributedMap({
        ItemReader: {
          Resource: 'arn:aws:states:::s3:getObject',
          ReaderConfig: { InputType: 'JSON', MaxItems: 2 },
          Parameters: { Bucket: BUCKET, Key: 'json/items.json' },
        },
      }),
    );
    expect((await run(fromS3)).result).toEqual([{ done: { n: 1 } }, { done: { n: 2 } }]);
    const fromInput = machineOf(
      distributedMap(
        { ItemsPath: '$.list', ItemSelector: { 'v.$': '$$.Map.Item.Value', 's.$': '$$.Map.Item.Source' } },
        { StartAt: 'Echo', States: { Echo: { Type: 'Pass', End: true } } },
      ),
    );
    expect((await run(fromInput, { list: ['x', 'y'] })).result).toEqual([
      { v: 'x', s: 'STATE_DATA' },
      { v: 'y', s: 'STATE_DATA' },
    ]);
  });

  it('reads CSV with the first row as headers, or with given headers, alone or listed by an Athena manifest', async () => {
    await put('csv/first.csv', 'name,team\nalice,"a, b"\n"bo""b",x\n');
    await put('csv/given.csv', 'alice,1\nbob,2,extra\ncarol\n');
    const csv = (config: object, key: string) =>
      machineOf(
        distributedMap(
          {
            ItemReader: {
              Resource: 'arn:aws:states:::s3:getObject',
              ReaderConfig: { InputType: 'CSV', ...config },
              Parameters: { Bucket: BUCKET, Key: key },
            },
          },
          { StartAt: 'Echo', States: { Echo: { Type: 'Pass', End: true } } },
        ),
      );
    expect((await run(csv({ CSVHeaderLocation: 'FIRST_ROW' }, 'csv/first.csv'))).result).toEqual([
      { name: 'alice', team: 'a, b' },
      { name: 'bo"b', team: 'x' },
    ]);
    expect(
      (await run(csv({ CSVHeaderLocation: 'GIVEN', CSVHeaders: ['user', 'n'] }, 'csv/given.csv'))).result,
    ).toEqual([
      { user: 'alice', n: '1' },
      { user: 'bob', n: '2' },
      { user: 'carol', n: '' },
    ]);
    // Athena's UNLOAD writes CSV without a header row: the headers are given.
    await put('csv/unload.manifest', `s3://${BUCKET}/csv/given.csv\ns3://${BUCKET}/csv/given.csv\n`);
    const athena = csv(
      { ManifestType: 'ATHENA_DATA', CSVHeaderLocation: 'GIVEN', CSVHeaders: ['user'], MaxItems: 4 },
      'csv/unload.manifest',
    );
    expect((await run(athena)).result).toEqual([
      { user: 'alice' },
      { user: 'bob' },
      { user: 'carol' },
      { user: 'alice' },
    ]);
  });
});

describe('child workflows', () => {
  it('runs at most MaxConcurrency children at once, each a child execution of the Map Run', async () => {
    work.delayMs = 20;
    const machine = machineOf(distributedMap({ ItemsPath: '$.items', MaxConcurrencyPath: '$.concurrency' }));
    const items = Array.from({ length: 12 }, (_, value) => ({ value }));
    const executionArn = await start(machine, { items, concurrency: 3 });
    const done = await finished(executionArn);
    work.delayMs = 5;
    expect(done.status).toBe('SUCCEEDED');
    expect(work.peak).toBe(3);
    const mapRun = await mapRunOf(executionArn);
    expect(mapRun).toMatchObject({
      executionArn,
      status: 'SUCCEEDED',
      maxConcurrency: 3,
      toleratedFailureCount: 0,
      toleratedFailurePercentage: 0,
      redriveCount: 0,
      itemCounts: { pending: 0, running: 0, succeeded: 12, failed: 0, timedOut: 0, aborted: 0, total: 12 },
      executionCounts: { pending: 0, running: 0, succeeded: 12, failed: 0, total: 12 },
    });
    expect(mapRun.stopDate?.getTime()).toBeGreaterThanOrEqual(mapRun.startDate?.getTime() ?? Infinity);
    // arn:aws:states:<region>:<account>:mapRun:<machine>/<label>:<id>; the children run <machine>/<label>.
    const machineName = machine.split(':').at(-1) ?? '';
    expect(mapRun.mapRunArn).toMatch(new RegExp(`:mapRun:${machineName}/[0-9a-f-]{36}:[0-9a-f-]{36}$`));
    const label = mapRun.mapRunArn?.split(':').at(-2) ?? '';
    const listed = await children(mapRun.mapRunArn ?? '');
    expect(listed).toHaveLength(12);
    expect(listed[0]).toMatchObject({ mapRunArn: mapRun.mapRunArn, itemCount: 1, status: 'SUCCEEDED' });
    expect(listed[0]?.stateMachineArn).toBe(
      machine.replace(`:stateMachine:${machineName}`, `:stateMachine:${label}`),
    );
    expect(listed[0]?.executionArn).toMatch(new RegExp(`:execution:${label}:[0-9a-f-]{36}$`));
    const child = await sfn.send(new DescribeExecutionCommand({ executionArn: listed[0]?.executionArn }));
    expect(child).toMatchObject({
      mapRunArn: mapRun.mapRunArn,
      status: 'SUCCEEDED',
      redriveStatus: 'NOT_REDRIVABLE',
    });
    // The newest child first, as ListExecutions lists; its input is the item.
    expect(JSON.parse(child.input ?? '')).toEqual({ value: 11 });
    const childHistory = (await history(child.executionArn ?? '')).map((event) => event.type);
    expect(childHistory).toEqual([
      'ExecutionStarted',
      'TaskStateEntered',
      'LambdaFunctionScheduled',
      'LambdaFunctionStarted',
      'LambdaFunctionSucceeded',
      'TaskStateExited',
      'ExecutionSucceeded',
    ]);
  });

  it('tolerates failures up to ToleratedFailureCount and reports the failed children', async () => {
    const machine = machineOf(distributedMap({ ItemsPath: '$', ToleratedFailureCount: 1 }));
    const tolerated = await start(machine, [{ value: 1 }, { value: 2, fail: true }, { value: 3 }]);
    const done = await finished(tolerated);
    expect(done.status).toBe('SUCCEEDED');
    // A child that did not succeed leaves null in the Map's output.
    expect(JSON.parse(done.output ?? '')).toEqual([{ done: 1 }, null, { done: 3 }]);
    const mapRun = await mapRunOf(tolerated);
    expect(mapRun.itemCounts).toMatchObject({ succeeded: 2, failed: 1, total: 3 });
    const failed = await children(mapRun.mapRunArn ?? '', 'FAILED');
    expect(failed).toHaveLength(1);
    const child = await sfn.send(new DescribeExecutionCommand({ executionArn: failed[0]?.executionArn }));
    expect(child).toMatchObject({
      status: 'FAILED',
      error: 'ItemError',
      redriveStatus: 'REDRIVABLE_BY_MAP_RUN',
    });
  });

  it('fails with States.ExceedToleratedFailureThreshold past ToleratedFailurePercentage, starting no more children', async () => {
    const machine = machineOf(
      distributedMap({ ItemsPath: '$', MaxConcurrency: 1, ToleratedFailurePercentage: 20 }),
    );
    const items = [
      { value: 0, fail: true },
      { value: 1, fail: true },
      { value: 2 },
      { value: 3 },
      { value: 4 },
    ];
    const executionArn = await start(machine, items);
    const done = await finished(executionArn);
    expect(done).toMatchObject({
      status: 'FAILED',
      error: 'States.ExceedToleratedFailureThreshold',
      cause: 'The specified tolerated failure threshold was exceeded',
    });
    const mapRun = await mapRunOf(executionArn);
    // 2 of 5 is 40%: the second failure ends the run; the last three items never start.
    expect(mapRun).toMatchObject({ status: 'FAILED', toleratedFailurePercentage: 20 });
    expect(mapRun.itemCounts).toMatchObject({ failed: 2, succeeded: 0, pending: 3, total: 5 });
    const events = (await history(executionArn)).map((event) => event.type);
    expect(events).toEqual([
      'ExecutionStarted',
      'MapStateEntered',
      'MapStateStarted',
      'MapRunStarted',
      'MapRunFailed',
      'MapStateFailed',
      'ExecutionFailed',
    ]);
  });
});

describe('ResultWriter', () => {
  it('writes SUCCEEDED_0.json, FAILED_0.json and manifest.json, and the Map returns where', async () => {
    const machine = machineOf(
      distributedMap({
        ItemsPath: '$.items',
        ToleratedFailurePercentage: 100,
        Label: 'Writer',
        ResultWriter: {
          Resource: 'arn:aws:states:::s3:putObject',
          Parameters: { Bucket: BUCKET, 'Prefix.$': "States.Format('runs/{}/results', $$.Execution.Name)" },
        },
      }),
    );
    const executionArn = await start(machine, { items: [{ value: 'a' }, { value: 'b', fail: true }] });
    const done = await finished(executionArn);
    expect(done.status).toBe('SUCCEEDED');
    const output = JSON.parse(done.output ?? '') as {
      MapRunArn: string;
      ResultWriterDetails: { Bucket: string; Key: string };
    };
    const id = output.MapRunArn.split(':').at(-1) ?? '';
    const base = `runs/${done.name ?? ''}/results/${id}/`;
    expect(output.MapRunArn).toMatch(/:mapRun:dmap-\d+\/Writer:/);
    expect(output.ResultWriterDetails).toEqual({ Bucket: BUCKET, Key: `${base}manifest.json` });
    const manifest = JSON.parse(await read(output.ResultWriterDetails.Key)) as Record<string, unknown>;
    const succeededBody = await read(`${base}SUCCEEDED_0.json`);
    const failedBody = await read(`${base}FAILED_0.json`);
    expect(manifest).toEqual({
      DestinationBucket: BUCKET,
      MapRunArn: output.MapRunArn,
      ResultFiles: {
        FAILED: [{ Key: `${base}FAILED_0.json`, Size: Buffer.byteLength(failedBody) }],
        PENDING: [],
        SUCCEEDED: [{ Key: `${base}SUCCEEDED_0.json`, Size: Buffer.byteLength(succeededBody) }],
      },
    });
    const [succeeded] = JSON.parse(succeededBody) as Record<string, unknown>[];
    const [failed] = JSON.parse(failedBody) as Record<string, unknown>[];
    const childMachine = machine.replace(/stateMachine:(dmap-\d+)$/, 'stateMachine:$1/Writer');
    expect(Object.keys(succeeded ?? {})).toEqual([
      'ExecutionArn',
      'Input',
      'InputDetails',
      'Name',
      'Output',
      'OutputDetails',
      'RedriveCount',
      'RedriveStatus',
      'RedriveStatusReason',
      'StartDate',
      'StateMachineArn',
      'Status',
      'StopDate',
    ]);
    expect(succeeded).toMatchObject({
      Input: '{"value":"a"}',
      InputDetails: { Included: true },
      Output: '{"done":"a"}',
      OutputDetails: { Included: true },
      RedriveCount: 0,
      RedriveStatus: 'NOT_REDRIVABLE',
      StateMachineArn: childMachine,
      Status: 'SUCCEEDED',
    });
    expect(new Date(String(succeeded?.StartDate)).toISOString()).toBe(succeeded?.StartDate);
    expect(failed).toMatchObject({
      Error: 'ItemError',
      Input: '{"value":"b","fail":true}',
      RedriveStatus: 'REDRIVABLE_BY_MAP_RUN',
      Status: 'FAILED',
    });
    expect(failed).not.toHaveProperty('Output');
    expect(JSON.parse(String(failed?.Cause))).toEqual({
      errorType: 'ItemError',
      errorMessage: 'item "b" failed',
    });
    expect((await mapRunOf(executionArn)).itemCounts).toMatchObject({
      resultsWritten: 2,
      succeeded: 1,
      failed: 1,
    });
  });

  it('fails with States.ResultWriterFailed naming the S3 error when the write is refused', async () => {
    emulator.traffic.addFault('s3:PutObject:SlowDown');
    const machine = machineOf(
      distributedMap({
        ItemsPath: '$',
        ResultWriter: {
          Resource: 'arn:aws:states:::s3:putObject',
          Parameters: { Bucket: BUCKET, Prefix: 'w' },
        },
      }),
    );
    const done = await run(machine, [{ value: 1 }]);
    expect(done).toMatchObject({ status: 'FAILED', error: 'States.ResultWriterFailed' });
    expect(done.cause).toMatch(
      /^Failed to write s3:\/\/dmap-tests\/w\/[0-9a-f-]{36}\/SUCCEEDED_0\.json: Please reduce your request rate\. \(Service: Amazon S3; Status Code: 503; Error Code: SlowDown; Request ID: /,
    );
  });
});

describe('an ItemReader that cannot read', () => {
  it('fails with States.ItemReaderFailed for a missing object, before any child starts', async () => {
    const machine = machineOf(
      distributedMap({
        ItemReader: {
          Resource: 'arn:aws:states:::s3:getObject',
          ReaderConfig: { InputType: 'JSONL' },
          Parameters: { Bucket: BUCKET, 'Key.$': '$.key' },
        },
      }),
    );
    const executionArn = await start(machine, { key: 'missing.jsonl' });
    const done = await finished(executionArn);
    expect(done).toMatchObject({ status: 'FAILED', error: 'States.ItemReaderFailed' });
    expect(done.cause).toContain(
      `Failed to read s3://${BUCKET}/missing.jsonl: The specified key does not exist. (Service: Amazon S3; Status Code: 404; Error Code: NoSuchKey;`,
    );
    const mapRun = await mapRunOf(executionArn);
    expect(mapRun).toMatchObject({
      status: 'FAILED',
      itemCounts: { total: 0 },
      executionCounts: { total: 0 },
    });
    const failed = (await history(executionArn)).find((event) => event.type === 'MapRunFailed');
    expect(failed?.mapRunFailedEventDetails).toEqual({ error: 'States.ItemReaderFailed', cause: done.cause });
  });

  it('surfaces a fault injected on S3 GetObject, and is caught by the Map state', async () => {
    await put('ok.jsonl', '{"value":1}\n');
    emulator.traffic.addFault('s3:GetObject:500');
    const machine = machineOf(
      distributedMap({
        ItemReader: {
          Resource: 'arn:aws:states:::s3:getObject',
          ReaderConfig: { InputType: 'JSONL' },
          Parameters: { Bucket: BUCKET, Key: 'ok.jsonl' },
        },
        Catch: [{ ErrorEquals: ['States.ItemReaderFailed'], ResultPath: '$.error', Next: 'Explained' }],
        Next: 'Unreachable',
      }),
      {
        Unreachable: { Type: 'Fail', Error: 'Unreachable' },
        Explained: { Type: 'Pass', End: true },
      },
    );
    const executionArn = await start(machine, { run: 1 });
    const done = await finished(executionArn);
    expect(done.status).toBe('SUCCEEDED');
    const output = JSON.parse(done.output ?? '') as { run: number; error: { Error: string; Cause: string } };
    expect(output.run).toBe(1);
    expect(output.error.Error).toBe('States.ItemReaderFailed');
    expect(output.error.Cause).toContain('Status Code: 500; Error Code: InternalError;');
    expect((await history(executionArn)).map((event) => event.type)).toEqual([
      'ExecutionStarted',
      'MapStateEntered',
      'MapStateStarted',
      'MapRunStarted',
      'MapRunFailed',
      'MapStateFailed',
      // As AWS writes a caught failure: the state exits with the Catch's output.
      'MapStateExited',
      'PassStateEntered',
      'PassStateExited',
      'ExecutionSucceeded',
    ]);
    // The fault was taken by the reader's call, counted like any S3 call.
    expect(emulator.traffic.describe()[0]?.fired).toBe(1);
  });
});

describe('children waiting for a task token', () => {
  /** A parent whose children each start a `holder` execution with their task token, then wait. */
  function signalling(): { parent: string; holder: string } {
    const holder = register({ StartAt: 'Hold', States: { Hold: { Type: 'Pass', End: true } } });
    const parent = machineOf(
      distributedMap(
        { ItemsPath: '$', MaxConcurrency: 2, ItemSelector: { 'value.$': '$$.Map.Item.Value' } },
        {
          StartAt: 'Signal',
          States: {
            Signal: {
              Type: 'Task',
              Resource: 'arn:aws:states:::states:startExecution.waitForTaskToken',
              Parameters: {
                StateMachineArn: holder,
                Input: { 'token.$': '$$.Task.Token', 'item.$': '$.value' },
              },
              TimeoutSeconds: 60,
              End: true,
            },
          },
        },
      ),
    );
    return { parent, holder };
  }

  /** The tokens the holders carry once `count` children wait (never printed). */
  async function waiting(holder: string, count: number): Promise<{ token: string; item: unknown }[]> {
    for (;;) {
      const { executions } = await sfn.send(new ListExecutionsCommand({ stateMachineArn: holder }));
      if ((executions ?? []).length >= count) {
        return Promise.all(
          (executions ?? []).map(async ({ executionArn }) => {
            const { input } = await sfn.send(new DescribeExecutionCommand({ executionArn }));
            return JSON.parse(input ?? '{}') as { token: string; item: unknown };
          }),
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  it('finishes each child when SendTaskSuccess answers its token', async () => {
    const { parent, holder } = signalling();
    const executionArn = await start(parent, ['a', 'b']);
    for (const { token, item } of await waiting(holder, 2)) {
      await sfn.send(
        new SendTaskSuccessCommand({ taskToken: token, output: JSON.stringify({ signalled: item }) }),
      );
    }
    const done = await finished(executionArn);
    expect(done.status).toBe('SUCCEEDED');
    expect(JSON.parse(done.output ?? '')).toEqual([{ signalled: 'a' }, { signalled: 'b' }]);
    const child = (await children((await mapRunOf(executionArn)).mapRunArn ?? ''))[0];
    expect((await history(child?.executionArn ?? '')).map((event) => event.type)).toEqual([
      'ExecutionStarted',
      'TaskStateEntered',
      'TaskScheduled',
      'TaskStarted',
      'TaskSucceeded',
      'TaskStateExited',
      'ExecutionSucceeded',
    ]);
  });

  it('StopExecution of the parent aborts the Map Run and its running children; pending items never start', async () => {
    const { parent, holder } = signalling();
    const executionArn = await start(parent, ['a', 'b', 'c']);
    const held = await waiting(holder, 2);
    await sfn.send(new StopExecutionCommand({ executionArn }));
    expect((await finished(executionArn)).status).toBe('ABORTED');
    let mapRun = await mapRunOf(executionArn);
    for (; mapRun.status === 'RUNNING'; mapRun = await mapRunOf(executionArn)) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(mapRun).toMatchObject({
      status: 'ABORTED',
      itemCounts: { aborted: 2, pending: 1, running: 0, total: 3 },
    });
    const aborted = await children(mapRun.mapRunArn ?? '', 'ABORTED');
    expect(aborted).toHaveLength(2);
    // The children's tokens are gone with them.
    const answer = sfn.send(new SendTaskSuccessCommand({ taskToken: held[0]?.token, output: '{}' }));
    await expect(answer).rejects.toMatchObject({ name: 'TaskDoesNotExist' });
    expect((await history(executionArn)).map((event) => event.type).slice(-2)).toEqual([
      'MapRunAborted',
      'ExecutionAborted',
    ]);
  });
});

describe("the state machine's role", () => {
  it('reads and writes S3 as the role: a role IAM holds is held to its policy', async () => {
    await put('allowed/items.jsonl', '{"value":1}\n');
    await put('denied/items.jsonl', '{"value":2}\n');
    const { Role } = await iam.send(
      new CreateRoleCommand({
        RoleName: 'dmap-reader',
        AssumeRolePolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            { Effect: 'Allow', Principal: { Service: 'states.amazonaws.com' }, Action: 'sts:AssumeRole' },
          ],
        }),
      }),
    );
    await iam.send(
      new PutRolePolicyCommand({
        RoleName: 'dmap-reader',
        PolicyName: 'items',
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            { Effect: 'Allow', Action: 's3:GetObject', Resource: `arn:aws:s3:::${BUCKET}/allowed/*` },
          ],
        }),
      }),
    );
    const machine = machineOf(
      distributedMap({
        ItemReader: {
          Resource: 'arn:aws:states:::s3:getObject',
          ReaderConfig: { InputType: 'JSONL' },
          Parameters: { Bucket: BUCKET, 'Key.$': '$.key' },
        },
      }),
      {},
      Role?.Arn,
    );
    expect((await run(machine, { key: 'allowed/items.jsonl' })).result).toEqual([{ done: 1 }]);
    const denied = await run(machine, { key: 'denied/items.jsonl' });
    expect(denied).toMatchObject({ status: 'FAILED', error: 'States.ItemReaderFailed' });
    expect(denied.cause).toContain(
      `is not authorized to perform: s3:GetObject on resource: "arn:aws:s3:::${BUCKET}/denied/items.jsonl" because no identity-based policy allows the s3:GetObject action`,
    );
    expect(emulator.denials().at(-1)).toMatchObject({ action: 's3:GetObject', roleArn: Role?.Arn });
  });
});

describe('the Map Run API', () => {
  it('lists one Map Run per attempt of a retried Map, newest first, a page at a time', async () => {
    const machine = machineOf(
      distributedMap({
        ItemsPath: '$',
        Retry: [
          { ErrorEquals: ['States.ExceedToleratedFailureThreshold'], MaxAttempts: 1, IntervalSeconds: 1 },
        ],
      }),
    );
    const executionArn = await start(machine, [{ value: 1, fail: true }]);
    expect((await finished(executionArn)).error).toBe('States.ExceedToleratedFailureThreshold');
    const first = await sfn.send(new ListMapRunsCommand({ executionArn, maxResults: 1 }));
    const second = await sfn.send(
      new ListMapRunsCommand({ executionArn, maxResults: 1, nextToken: first.nextToken }),
    );
    expect(second.nextToken).toBeUndefined();
    const runs = [...(first.mapRuns ?? []), ...(second.mapRuns ?? [])];
    expect(runs).toHaveLength(2);
    expect(runs[0]?.startDate?.getTime()).toBeGreaterThanOrEqual(runs[1]?.startDate?.getTime() ?? Infinity);
    expect(runs[0]).toMatchObject({
      executionArn,
      stateMachineArn: expect.stringMatching(/:stateMachine:dmap-\d+\//),
    });
    expect(runs[0]?.stopDate).toBeInstanceOf(Date);
    const started = (await history(executionArn)).filter((event) => event.type === 'MapRunStarted');
    expect(started.map((event) => event.mapRunStartedEventDetails?.mapRunArn)).toEqual(
      runs.map((mapRun) => mapRun.mapRunArn).reverse(),
    );
  });

  it('answers as AWS does for ARNs that are malformed, unknown, or missing', async () => {
    const bad = sfn.send(
      new DescribeMapRunCommand({ mapRunArn: 'arn:aws:states:us-east-1:123456789012:execution:a:b' }),
    );
    await expect(bad).rejects.toMatchObject({ name: 'InvalidArn' });
    const unknown =
      'arn:aws:states:us-east-1:123456789012:mapRun:nobody/Label:00000000-0000-0000-0000-000000000000';
    await expect(sfn.send(new DescribeMapRunCommand({ mapRunArn: unknown }))).rejects.toMatchObject({
      name: 'ResourceNotFound',
    });
    await expect(sfn.send(new ListExecutionsCommand({ mapRunArn: unknown }))).rejects.toMatchObject({
      name: 'ResourceNotFound',
    });
    await expect(sfn.send(new ListExecutionsCommand({}))).rejects.toMatchObject({
      name: 'ValidationException',
    });
    const noExecution = 'arn:aws:states:us-east-1:123456789012:execution:nobody:none';
    await expect(sfn.send(new ListMapRunsCommand({ executionArn: noExecution }))).rejects.toMatchObject({
      name: 'ExecutionDoesNotExist',
    });
  });

  it('writes the Map state events in AWS order, the state output through ResultSelector and ResultPath', async () => {
    const machine = machineOf(
      distributedMap({
        ItemsPath: '$.items',
        ResultSelector: { 'count.$': 'States.ArrayLength($)' },
        ResultPath: '$.result',
      }),
    );
    const executionArn = await start(machine, { items: [{ value: 1 }, { value: 2 }] });
    const done = await finished(executionArn);
    expect(JSON.parse(done.output ?? '')).toEqual({
      items: [{ value: 1 }, { value: 2 }],
      result: { count: 2 },
    });
    const events = await history(executionArn);
    expect(events.map((event) => event.type)).toEqual([
      'ExecutionStarted',
      'MapStateEntered',
      'MapStateStarted',
      'MapRunStarted',
      'MapRunSucceeded',
      'MapStateSucceeded',
      'MapStateExited',
      'ExecutionSucceeded',
    ]);
    expect(events[2]?.mapStateStartedEventDetails).toEqual({ length: 2 });
    expect(events[3]?.mapRunStartedEventDetails?.mapRunArn).toBe((await mapRunOf(executionArn)).mapRunArn);
    expect(events[6]?.stateExitedEventDetails).toMatchObject({ name: 'Each', output: done.output });
  });
});
