import { randomUUID } from 'node:crypto';
import type { HistoryEvent } from '@aws-sdk/client-sfn';
import { z } from 'zod';
import type { CallContext, JsonHandler } from '../aws/context.js';
import { parseInput } from '../aws/json-input.js';
import type { MapRun } from './distributed-map/map-runs.js';
import { missingParameter, resourceNotFound, validationError } from './errors.js';
import type { Execution } from './executions.js';
import { withoutData } from './history.js';
import type { RegisteredMachine } from './machines.js';
import { checkName, parseStateMachineArn } from './names.js';
import { MAX_PAGE, page } from './pages.js';
import type { StepFunctions } from './service.js';

// awsJson timestamps are epoch seconds.
const seconds = (date: Date): number => date.getTime() / 1000;

const Arn = z.string().min(1).max(256);
const MaxResults = z.number().int().min(0).max(MAX_PAGE).optional();
const NextToken = z.string().min(1).max(1024).optional();
const Status = z.enum(['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED', 'PENDING_REDRIVE']);

function service(ctx: CallContext): StepFunctions {
  return ctx.state.stepFunctions;
}

/** Required members are checked first, as AWS does, with the model's member names. */
function required(input: unknown, member: string): void {
  const value = (input as Record<string, unknown> | null)?.[member];
  if (value === undefined || value === null) throw missingParameter(member);
}

const machineItem = (m: RegisteredMachine) => ({
  stateMachineArn: m.arn,
  name: m.name,
  type: 'STANDARD',
  creationDate: seconds(m.creationDate),
});

const executionItem = (e: Execution) => ({
  executionArn: e.arn,
  stateMachineArn: e.machine.arn,
  name: e.name,
  status: e.status,
  startDate: seconds(e.startDate),
  ...(e.stopDate ? { stopDate: seconds(e.stopDate) } : {}),
});

function serializeEvent(event: HistoryEvent): Record<string, unknown> {
  return { ...event, timestamp: seconds(event.timestamp ?? new Date(0)) };
}

const listStateMachines: JsonHandler = (input, ctx) => {
  const { maxResults, nextToken } = parseInput(
    z.object({ maxResults: MaxResults, nextToken: NextToken }),
    input,
  );
  const listed = page(service(ctx).machines.list(), 'ListStateMachines', maxResults, nextToken);
  return {
    stateMachines: listed.items.map(machineItem),
    ...(listed.nextToken ? { nextToken: listed.nextToken } : {}),
  };
};

const describeStateMachine: JsonHandler = (input, ctx) => {
  required(input, 'stateMachineArn');
  const { stateMachineArn } = parseInput(z.object({ stateMachineArn: Arn }), input);
  const machine = service(ctx).machines.get(stateMachineArn);
  return {
    ...machineItem(machine),
    status: 'ACTIVE',
    definition: machine.definition,
    roleArn: machine.roleArn,
    loggingConfiguration: { level: 'OFF', includeExecutionData: false },
    tracingConfiguration: { enabled: false },
  };
};

// Tags of state machines only: the endpoint serves no activities.
const listTagsForResource: JsonHandler = (input, ctx) => {
  required(input, 'resourceArn');
  const { resourceArn } = parseInput(z.object({ resourceArn: Arn }), input);
  const machine = service(ctx).machines.byName(parseStateMachineArn(resourceArn));
  if (machine?.arn !== resourceArn) throw resourceNotFound(resourceArn);
  return { tags: Object.entries(machine.tags?.() ?? {}).map(([key, value]) => ({ key, value })) };
};

const startExecution: JsonHandler = (input, ctx) => {
  required(input, 'stateMachineArn');
  const parsed = parseInput(
    z.object({
      stateMachineArn: Arn,
      name: z.string().optional(),
      input: z.string().optional(),
      traceHeader: z.string().optional(),
    }),
    input,
  );
  const sfn = service(ctx);
  const machine = sfn.machines.get(parsed.stateMachineArn);
  const name = checkName(parsed.name ?? randomUUID());
  const execution = sfn.executions.start(machine, name, parsed.input ?? '{}');
  return { executionArn: execution.arn, startDate: seconds(execution.startDate) };
};

/** A Map Run's child that did not succeed may be redriven with its Map Run, as AWS reports it. */
const redrive = (e: Execution) =>
  e.mapRunArn !== undefined && e.status !== 'SUCCEEDED' && e.status !== 'RUNNING'
    ? { redriveCount: 0, redriveStatus: 'REDRIVABLE_BY_MAP_RUN' }
    : { redriveCount: 0, redriveStatus: 'NOT_REDRIVABLE' };

const describeExecution: JsonHandler = (input, ctx) => {
  required(input, 'executionArn');
  const { executionArn } = parseInput(
    z.object({ executionArn: Arn, includedData: z.string().optional() }),
    input,
  );
  const e = service(ctx).executions.get(executionArn);
  return {
    ...executionItem(e),
    input: e.input,
    inputDetails: { included: true },
    ...(e.output !== undefined ? { output: e.output, outputDetails: { included: true } } : {}),
    ...(e.error !== undefined ? { error: e.error } : {}),
    ...(e.cause !== undefined ? { cause: e.cause } : {}),
    ...(e.mapRunArn !== undefined ? { mapRunArn: e.mapRunArn } : {}),
    ...redrive(e),
  };
};

const getExecutionHistory: JsonHandler = (input, ctx) => {
  required(input, 'executionArn');
  const parsed = parseInput(
    z.object({
      executionArn: Arn,
      maxResults: MaxResults,
      reverseOrder: z.boolean().optional(),
      nextToken: NextToken,
      includeExecutionData: z.boolean().optional(),
    }),
    input,
  );
  const e = service(ctx).executions.get(parsed.executionArn);
  const ordered = parsed.reverseOrder ? [...e.history].reverse() : [...e.history];
  const listed = page(
    ordered,
    `history:${e.arn}:${parsed.reverseOrder === true}`,
    parsed.maxResults,
    parsed.nextToken,
  );
  const withData = parsed.includeExecutionData !== false;
  return {
    events: listed.items.map((event) => serializeEvent(withData ? event : withoutData(event))),
    ...(listed.nextToken ? { nextToken: listed.nextToken } : {}),
  };
};

/** A Map Run's child workflows, newest first, as ListExecutions lists them by mapRunArn. */
function childrenOf(sfn: StepFunctions, run: MapRun, status: Execution['status'] | undefined): Execution[] {
  return run.children
    .map((arn) => sfn.executions.get(arn))
    .filter((e) => status === undefined || e.status === status)
    .reverse();
}

// Either a state machine's executions or a Map Run's child workflows.
const listExecutions: JsonHandler = (input, ctx) => {
  const parsed = parseInput(
    z.object({
      stateMachineArn: Arn.optional(),
      mapRunArn: z.string().min(1).max(2000).optional(),
      statusFilter: Status.optional(),
      maxResults: MaxResults,
      nextToken: NextToken,
    }),
    input,
  );
  if ((parsed.stateMachineArn === undefined) === (parsed.mapRunArn === undefined)) {
    throw validationError('Must provide a StateMachine ARN or a MapRun ARN, not both');
  }
  const sfn = service(ctx);
  const status = parsed.statusFilter;
  const run = parsed.mapRunArn === undefined ? undefined : sfn.mapRuns.get(parsed.mapRunArn);
  const machine = parsed.stateMachineArn === undefined ? undefined : sfn.machines.get(parsed.stateMachineArn);
  const executions = run ? childrenOf(sfn, run, status) : machine ? sfn.executions.list(machine, status) : [];
  const scope = `executions:${run?.arn ?? machine?.arn ?? ''}:${status ?? ''}`;
  const listed = page(executions, scope, parsed.maxResults, parsed.nextToken);
  return {
    executions: listed.items.map((e) => ({
      ...executionItem(e),
      // Listed by Map Run, each child says so and how many items it processed (one: no batching).
      ...(run ? { mapRunArn: run.arn, itemCount: 1 } : {}),
    })),
    ...(listed.nextToken ? { nextToken: listed.nextToken } : {}),
  };
};

const describeMapRun: JsonHandler = (input, ctx) => {
  required(input, 'mapRunArn');
  const { mapRunArn } = parseInput(z.object({ mapRunArn: z.string().min(1).max(2000) }), input);
  const run = service(ctx).mapRuns.get(mapRunArn);
  return {
    mapRunArn: run.arn,
    executionArn: run.executionArn,
    status: run.status,
    startDate: seconds(run.startDate),
    ...(run.stopDate ? { stopDate: seconds(run.stopDate) } : {}),
    maxConcurrency: run.maxConcurrency,
    toleratedFailurePercentage: run.toleratedFailurePercentage,
    toleratedFailureCount: run.toleratedFailureCount,
    itemCounts: { ...run.items },
    executionCounts: { ...run.executions },
    redriveCount: 0,
  };
};

const listMapRuns: JsonHandler = (input, ctx) => {
  required(input, 'executionArn');
  const parsed = parseInput(
    z.object({ executionArn: Arn, maxResults: MaxResults, nextToken: NextToken }),
    input,
  );
  const sfn = service(ctx);
  const execution = sfn.executions.get(parsed.executionArn);
  const listed = page(
    sfn.mapRuns.of(execution.arn),
    `mapRuns:${execution.arn}`,
    parsed.maxResults,
    parsed.nextToken,
  );
  return {
    mapRuns: listed.items.map((run) => ({
      executionArn: run.executionArn,
      mapRunArn: run.arn,
      stateMachineArn: run.stateMachineArn,
      startDate: seconds(run.startDate),
      ...(run.stopDate ? { stopDate: seconds(run.stopDate) } : {}),
    })),
    ...(listed.nextToken ? { nextToken: listed.nextToken } : {}),
  };
};

const stopExecution: JsonHandler = (input, ctx) => {
  required(input, 'executionArn');
  const parsed = parseInput(
    z.object({
      executionArn: Arn,
      error: z.string().max(256).optional(),
      cause: z.string().max(32_768).optional(),
    }),
    input,
  );
  const stopDate = service(ctx).executions.stop(parsed.executionArn, parsed.error, parsed.cause);
  return { stopDate: seconds(stopDate) };
};

const Token = z.string().min(1).max(1024);

const sendTaskSuccess: JsonHandler = (input, ctx) => {
  required(input, 'taskToken');
  required(input, 'output');
  const { taskToken, output } = parseInput(
    z.object({ taskToken: Token, output: z.string().max(256 * 1024) }),
    input,
  );
  service(ctx).taskTokens.succeed(taskToken, output);
  return {};
};

const sendTaskFailure: JsonHandler = (input, ctx) => {
  required(input, 'taskToken');
  const { taskToken, error, cause } = parseInput(
    z.object({
      taskToken: Token,
      error: z.string().max(256).optional(),
      cause: z.string().max(32_768).optional(),
    }),
    input,
  );
  service(ctx).taskTokens.fail(taskToken, error, cause);
  return {};
};

const sendTaskHeartbeat: JsonHandler = (input, ctx) => {
  required(input, 'taskToken');
  const { taskToken } = parseInput(z.object({ taskToken: Token }), input);
  service(ctx).taskTokens.heartbeat(taskToken);
  return {};
};

/** The operations the endpoint serves, by X-Amz-Target action. */
export const sfnActions: ReadonlyMap<string, JsonHandler> = new Map([
  ['ListStateMachines', listStateMachines],
  ['DescribeStateMachine', describeStateMachine],
  ['ListTagsForResource', listTagsForResource],
  ['StartExecution', startExecution],
  ['DescribeExecution', describeExecution],
  ['GetExecutionHistory', getExecutionHistory],
  ['ListExecutions', listExecutions],
  ['DescribeMapRun', describeMapRun],
  ['ListMapRuns', listMapRuns],
  ['StopExecution', stopExecution],
  ['SendTaskSuccess', sendTaskSuccess],
  ['SendTaskFailure', sendTaskFailure],
  ['SendTaskHeartbeat', sendTaskHeartbeat],
]);
