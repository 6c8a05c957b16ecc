import { randomUUID } from 'node:crypto';
import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import '../polyfills.js';
import { asLambda, type Handler, type Json } from '../lambda.js';
import type { HistoryEvent as LibraryEvent } from '../state-machine.js';
import { AwsServiceError } from '../aws/errors.js';
import { rewriteDistributedMaps, type DistributedMapSpec } from './distributed-map/definition.js';
import { runMapRun } from './distributed-map/runner.js';
import type { Execution } from './executions.js';
import { copyJsonMergeTargets } from './intrinsics.js';
import type { TaskResource } from './history.js';
import {
  childWorkflowMachine,
  type MachineRun,
  type MachineSpec,
  type RegisteredMachine,
} from './machines.js';
import { checkName, stateMachineArn } from './names.js';
import type { StepFunctions } from './service.js';

/** The Step Functions integration that starts a child execution, in its four patterns. */
const START_EXECUTION =
  /^arn:aws[a-z-]*:states:::states:(startExecution(?:\.sync(?::2)?|\.waitForTaskToken)?)$/;

export interface AslMachineOptions {
  name: string;
  /**
   * The definition with its resources resolved (Lambda ARNs, `arn:aws:states:::states:startExecution...`).
   * A Map with `ProcessorConfig.Mode: DISTRIBUTED` runs as a Map Run (see distributed-map/).
   */
  definition: StateMachineDefinition;
  roleArn: string;
  /** Where child executions are started and found. */
  sfn: StepFunctions;
  /** Handlers of the Lambda functions the Task states invoke, by function ARN. */
  lambdas?: Record<string, Handler>;
  /** Every Wait state and retry pause lasts this long (ms) instead. */
  waitMs?: number;
  retryPauseMs?: number;
}

/** The error of a refused StartExecution, as the integration names it. */
class IntegrationError extends Error {
  constructor(error: AwsServiceError) {
    super(error.message);
    this.name = `StepFunctions.${error.code.replace(/Exception$/, '')}Exception`;
  }
}

/** Thrown into the parent when a `.sync` child execution does not succeed, as Step Functions does. */
class TaskFailed extends Error {
  constructor(cause: string) {
    super(cause);
    this.name = 'States.TaskFailed';
  }
}

/** A Distributed Map of the machine and the machine its child workflows run. */
interface MapRunState {
  spec: DistributedMapSpec;
  child: RegisteredMachine;
}

/**
 * Any ASL machine on the local endpoint: its Task states invoke the given Lambda handlers, or start a
 * child execution of a registered machine (`states:startExecution`, `.sync`, `.sync:2`) and, for
 * `.sync`, wait for it; stopping the parent stops the children it waits for. Each DISTRIBUTED Map
 * runs a Map Run whose child workflows are executions of its ItemProcessor, a machine built with
 * the same options. Throws DistributedMapDefinitionError for a Distributed Map it cannot run.
 */
export function aslMachine(options: AslMachineOptions): MachineSpec {
  return buildMachine(options, true);
}

const VALIDATION = { validationOptions: { checkArn: false, checkPaths: true } } as const;

/**
 * The runner's StateMachine for a definition, validated once (asl-validator takes ~100 ms a
 * definition): a rewritten one is checked as written, Distributed Maps and their ItemProcessors
 * included, and run unchecked; an ItemProcessor was checked with its parent.
 */
function compile(
  written: StateMachineDefinition,
  runnable: StateMachineDefinition,
  validate: boolean,
): StateMachine {
  if (validate && runnable !== written) new StateMachine(written, VALIDATION);
  return new StateMachine(
    runnable,
    validate && runnable === written ? VALIDATION : { validationOptions: { noValidate: true } },
  );
}

function buildMachine(options: AslMachineOptions, validate: boolean): MachineSpec {
  const { sfn } = options;
  const { region } = sfn.scope;
  const rewritten = rewriteDistributedMaps(options.definition, options.name);
  const { maps } = rewritten;
  const definition = copyJsonMergeTargets(rewritten.definition);
  const mapRuns = new Map<string, MapRunState>(
    maps.map((spec) => {
      const name = `${options.name}/${spec.label}`;
      const processor = buildMachine({ ...options, name, definition: spec.processor }, false);
      return [spec.state, { spec, child: childWorkflowMachine(sfn.scope, processor) }];
    }),
  );
  const tasks: Record<string, TaskResource> = {};
  const states = allStates(definition);
  for (const [name, state] of Object.entries(states)) {
    const task = state as { Type: string; Resource?: string; TimeoutSeconds?: number };
    if (mapRuns.has(name)) {
      tasks[name] = { resource: 'mapRun', mapRun: true };
      continue;
    }
    if (task.Type !== 'Task' || !task.Resource) continue;
    const integration = START_EXECUTION.exec(task.Resource)?.[1];
    tasks[name] = {
      resource: integration ?? task.Resource,
      ...(task.TimeoutSeconds ? { timeoutInSeconds: task.TimeoutSeconds } : {}),
      ...(integration ? { service: { resourceType: 'states', region } } : {}),
    };
  }
  // A StateMachine keeps no execution state: runs share it.
  let machine: StateMachine | undefined;
  return {
    name: options.name,
    definition: JSON.stringify(options.definition, null, 2),
    roleArn: options.roleArn,
    tasks,
    run: async (run: MachineRun) => {
      const tokens = tokenSource(sfn);
      const handlers = Object.fromEntries(
        Object.keys(tasks).map((state) => {
          const mapRun = mapRuns.get(state);
          return [
            state,
            mapRun
              ? mapRunHandler(state, mapRun, options, run)
              : taskHandler(state, states, options, run, tokens),
          ];
        }),
      );
      const everyState = (ms: number | undefined) =>
        ms === undefined ? undefined : Object.fromEntries(Object.keys(states).map((s) => [s, ms]));
      machine ??= compile(options.definition, definition, validate);
      const execution = machine.run(run.input, {
        overrides: {
          taskResourceLocalHandlers: handlers,
          waitTimeOverrides: everyState(options.waitMs),
          retryIntervalOverrides: everyState(options.retryPauseMs),
        },
        context: {
          Execution: { Id: run.executionArn, Name: run.name, Input: run.input, RoleArn: options.roleArn },
          StateMachine: { Id: stateMachineArn(sfn.scope, options.name), Name: options.name },
          Task: tokens.context,
        },
      });
      if (run.signal.aborted) execution.abort();
      run.signal.addEventListener('abort', () => execution.abort(), { once: true });
      const collecting = (async () => {
        for await (const event of execution.eventLogs) run.onEvent(event as unknown as LibraryEvent);
      })();
      await execution.result.catch(() => undefined);
      await collecting;
    },
  };
}

/** Every state by name, those of Map item processors and Parallel branches too (the runner's handlers are by name). */
function allStates(definition: StateMachineDefinition): Record<string, unknown> {
  const found: Record<string, unknown> = {};
  const walk = (machine: { States?: Record<string, unknown> } | undefined) => {
    for (const [name, state] of Object.entries(machine?.States ?? {})) {
      found[name] = state;
      const nested = state as {
        ItemProcessor?: { States?: Record<string, unknown> };
        Iterator?: { States?: Record<string, unknown> };
        Branches?: { States?: Record<string, unknown> }[];
      };
      walk(nested.ItemProcessor ?? nested.Iterator);
      for (const branch of nested.Branches ?? []) walk(branch);
    }
  };
  walk(definition as unknown as { States: Record<string, unknown> });
  return found;
}

/**
 * `$$.Task.Token` for one execution. The runner resolves a state's Parameters just before it calls
 * the state's handler, so the token read there is the one the handler claims; the next Task's read
 * mints a new one.
 */
function tokenSource(sfn: StepFunctions) {
  let current: string | undefined;
  return {
    context: {
      get Token(): string {
        current ??= sfn.taskTokens.mint();
        return current;
      },
    },
    /** The token the state's Parameters just read, if any. */
    claim(): string | undefined {
      const token = current;
      current = undefined;
      return token;
    },
  };
}
type TokenSource = ReturnType<typeof tokenSource>;

function taskHandler(
  state: string,
  states: Record<string, unknown>,
  options: AslMachineOptions,
  run: MachineRun,
  tokens: TokenSource,
): (input: Json) => Promise<Json> {
  const resource = (states[state] as { Resource: string }).Resource;
  const integration = START_EXECUTION.exec(resource)?.[1];
  if (!integration) {
    const handler = options.lambdas?.[resource];
    if (!handler) throw new Error(`no handler for ${resource} (state ${state})`);
    const lambda = asLambda(handler);
    return async (input) => {
      const done = run.invoke(state, input);
      try {
        const output = await lambda(input);
        done(output);
        return output;
      } catch (error) {
        done();
        throw error;
      }
    };
  }
  return async (input) => {
    const done = run.invoke(state, input);
    const token = tokens.claim();
    try {
      const output = await startChild(integration, input, options.sfn, run.signal, token);
      done(output);
      return output;
    } catch (error) {
      done();
      throw error;
    }
  };
}

/** The Task a DISTRIBUTED Map runs as: its handler runs one Map Run per attempt. */
function mapRunHandler(
  state: string,
  { spec, child }: MapRunState,
  options: AslMachineOptions,
  run: MachineRun,
): (input: Json) => Promise<Json> {
  return async (input) => {
    let done: ((output?: unknown) => void) | undefined;
    try {
      const output = await runMapRun(
        {
          sfn: options.sfn,
          spec,
          child,
          executionArn: run.executionArn,
          roleArn: options.roleArn,
          signal: run.signal,
          started: (mapRunArn, length) => {
            done = run.invoke(state, { mapRunArn, length });
          },
        },
        input,
      );
      done?.(output);
      return output;
    } catch (error) {
      done?.();
      throw error;
    }
  };
}

const epochMs = (date: Date | undefined): number | undefined => date?.getTime();

/** StartExecution as a Task: the async pattern answers at once, `.sync` and `.sync:2` when the child ends. */
async function startChild(
  integration: string,
  input: Json,
  sfn: StepFunctions,
  parent: AbortSignal,
  token: string | undefined,
): Promise<Json> {
  if (integration === 'startExecution.waitForTaskToken' && !token) {
    throw new TaskFailed('a .waitForTaskToken state must pass $$.Task.Token in its Parameters');
  }
  const parameters = (input ?? {}) as { StateMachineArn?: string; Input?: Json; Name?: string };
  const childInput =
    typeof parameters.Input === 'string' ? parameters.Input : JSON.stringify(parameters.Input ?? {});
  let machine: RegisteredMachine;
  let child: Execution;
  try {
    machine = sfn.machines.get(String(parameters.StateMachineArn ?? ''));
    child = sfn.executions.start(machine, checkName(parameters.Name ?? randomUUID()), childInput);
  } catch (error) {
    // The integration reports the API's error as StepFunctions.<code>Exception.
    if (error instanceof AwsServiceError) throw new IntegrationError(error);
    throw error;
  }
  if (integration === 'startExecution') {
    return { ExecutionArn: child.arn, StartDate: epochMs(child.startDate) ?? 0 };
  }
  // The child (or anyone) answers with SendTaskSuccess or SendTaskFailure.
  if (token) return sfn.taskTokens.wait(token, parent);
  const stopChild = () =>
    sfn.executions.stop(child.arn, 'States.Aborted', 'the parent execution was stopped');
  parent.addEventListener('abort', stopChild, { once: true });
  try {
    await child.settled;
  } finally {
    parent.removeEventListener('abort', stopChild);
  }
  // `.sync:2` gives Input and Output as JSON, `.sync` as strings.
  const parse = (text: string | undefined): Json =>
    integration === 'startExecution.sync:2' && text !== undefined
      ? (JSON.parse(text) as Json)
      : (text ?? null);
  const described: Record<string, Json> = {
    ExecutionArn: child.arn,
    StateMachineArn: machine.arn,
    Name: child.name,
    Status: child.status,
    StartDate: epochMs(child.startDate) ?? 0,
    StopDate: epochMs(child.stopDate) ?? 0,
    Input: parse(child.input),
    InputDetails: { Included: true },
    ...(child.output !== undefined ? { Output: parse(child.output), OutputDetails: { Included: true } } : {}),
    ...(child.error !== undefined ? { Error: child.error } : {}),
    ...(child.cause !== undefined ? { Cause: child.cause } : {}),
  };
  if (child.status !== 'SUCCEEDED') throw new TaskFailed(JSON.stringify(described));
  return described;
}
