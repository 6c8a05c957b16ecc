import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import './polyfills.js';
import {
  defaultFunctionEnvironment,
  type FunctionEnvironment,
  installEnvironmentView,
  withFunctionEnvironment,
} from './function-environment.js';
import { asLambda, type Handler, type Json } from './lambda.js';

// Before any handler's SDK client resolves credentials (see function-environment.ts).
installEnvironmentView();

/** The ASL file serverless.yml deploys. */
export const DEFINITION_PATH = fileURLToPath(
  new URL('../statemachine/rotate-access-key.asl.json', import.meta.url),
);

/** The deployed definition with each `Fn::GetAtt [fn, Arn]` resource replaced by a Lambda ARN. */
export function loadDefinition(region = 'us-east-1', account = '123456789012'): StateMachineDefinition {
  const resolve = (node: Json): Json => {
    if (Array.isArray(node)) return node.map(resolve);
    if (node === null || typeof node !== 'object') return node;
    const getAtt = node['Fn::GetAtt'];
    if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') {
      return `arn:aws:lambda:${region}:${account}:function:iam-key-rotator-local-${getAtt[0]}`;
    }
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, resolve(v)]));
  };
  return resolve(
    JSON.parse(readFileSync(DEFINITION_PATH, 'utf8')) as Json,
  ) as unknown as StateMachineDefinition;
}

/** The Lambda function each Task state invokes (the first argument of its Fn::GetAtt). */
export function taskFunctions(): Record<string, string> {
  const raw = JSON.parse(readFileSync(DEFINITION_PATH, 'utf8')) as {
    States: Record<string, { Type: string; Resource?: { 'Fn::GetAtt'?: [string, string] } }>;
  };
  return Object.fromEntries(
    Object.entries(raw.States).flatMap(([name, state]) => {
      const fn = state.Resource?.['Fn::GetAtt']?.[0];
      return state.Type === 'Task' && fn ? [[name, fn]] : [];
    }),
  );
}

/** The handler module of every function, loaded on first use so the environment is set first. */
export async function loadHandlers(): Promise<Record<string, Handler>> {
  const modules = {
    validateInput: import('../functions/validateInput.js'),
    createKey: import('../functions/createKey.js'),
    storeInVault: import('../functions/storeInVault.js'),
    verifyKey: import('../functions/verifyKey.js'),
    deactivateOld: import('../functions/deactivateOld.js'),
    deleteOld: import('../functions/deleteOld.js'),
    restoreVault: import('../functions/restoreVault.js'),
    discardNewKey: import('../functions/discardNewKey.js'),
    discardLeftovers: import('../functions/discardLeftovers.js'),
  };
  const entries = await Promise.all(
    Object.entries(modules).map(async ([name, module]) => [name, (await module).handler] as const),
  );
  return Object.fromEntries(entries);
}

export interface HistoryEvent {
  type: string;
  timestamp: number;
  state?: { name: string; type: string; input?: unknown; output?: unknown };
  input?: unknown;
  output?: unknown;
  Error?: string;
  Cause?: string;
  retry?: { retrier: number; attempt: number };
}

export interface ExecutionResult {
  status: 'SUCCEEDED' | 'FAILED';
  output: unknown;
  error: { Error: string; Cause: string } | null;
  /** Every event of the execution, in order, with state input and output. */
  history: HistoryEvent[];
  /** State names entered, in order. */
  states: string[];
  durationMs: number;
}

export interface RunOptions {
  input: Json;
  executionName?: string;
  /** Wait states last this long instead (ms), all or by state; the ASL's waits are minutes to days. */
  waitMs?: number | Record<string, number>;
  /** Pause between retries (ms) instead of the ASL's backoff; per state and retrier when an object. */
  retryPauseMs?: number | Record<string, number | number[]>;
  /** Handlers to use instead of the real ones, by function name. */
  handlers?: Record<string, Handler>;
  /** Handlers of the Task states that call a service, not a function (the fleet signals), by state. */
  serviceTasks?: Record<string, (input: Json) => Promise<Json>>;
  /**
   * Variables each function's invocations see on top of the process environment (its role's
   * keys); defaults to what the last prepareTarget provisioned.
   */
  functionEnvironment?: FunctionEnvironment;
  onEvent?: (event: HistoryEvent) => void;
  /** Aborting it aborts the execution (StopExecution on the local Step Functions endpoint). */
  signal?: AbortSignal;
  region?: string;
  account?: string;
}

/**
 * The validated state machine per region and account, built once: validation takes ~100 ms, and a
 * StateMachine holds no execution state (each run() has its own), so executions may share it. One
 * map per process, even when a test runner loads this module afresh (an in-process CLI run does).
 */
const MACHINES = Symbol.for('iam-key-rotator.local-stack.state-machines');
type Machines = Map<string, { machine: StateMachine; states: string[] }>;
const machines = ((globalThis as Record<symbol, Machines | undefined>)[MACHINES] ??= new Map());

function machineFor(region: string, account: string): { machine: StateMachine; states: string[] } {
  const key = `${region}:${account}`;
  let entry = machines.get(key);
  if (!entry) {
    const definition = loadDefinition(region, account);
    entry = {
      machine: new StateMachine(definition, { validationOptions: { checkArn: true, checkPaths: true } }),
      states: Object.keys(definition.States),
    };
    machines.set(key, entry);
  }
  return entry;
}

/** Runs one execution of the real ASL file with the real handlers, in-process. */
export async function runExecution(options: RunOptions): Promise<ExecutionResult> {
  const region = options.region ?? 'us-east-1';
  const account = options.account ?? '123456789012';
  const { machine, states } = machineFor(region, account);
  const handlers = options.handlers ?? (await loadHandlers());
  const tasks = taskFunctions();
  const taskResourceLocalHandlers = Object.fromEntries(
    Object.entries(tasks).map(([state, fn]) => {
      const handler = handlers[fn];
      if (!handler) throw new Error(`no handler for function ${fn} (state ${state})`);
      const lambda = asLambda(handler);
      const env = (options.functionEnvironment ?? defaultFunctionEnvironment())[
        fn as keyof FunctionEnvironment
      ];
      return [state, env ? (input: Json) => withFunctionEnvironment(env, () => lambda(input)) : lambda];
    }),
  );
  Object.assign(taskResourceLocalHandlers, options.serviceTasks);
  const wait = options.waitMs;
  const waitTimeOverrides =
    typeof wait === 'number' ? Object.fromEntries(states.map((s) => [s, wait])) : wait;
  const pause = options.retryPauseMs;
  const retryIntervalOverrides =
    pause === undefined
      ? undefined
      : typeof pause === 'number'
        ? Object.fromEntries(states.map((s) => [s, pause]))
        : pause;

  const name = options.executionName ?? `local-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
  const started = new Date();
  const execution = machine.run(options.input, {
    overrides: { taskResourceLocalHandlers, waitTimeOverrides, retryIntervalOverrides },
    context: {
      Execution: {
        Id: `arn:aws:states:${region}:${account}:execution:iam-key-rotator-local:${name}`,
        Name: name,
        Input: options.input,
        StartTime: started.toISOString(),
        RoleArn: `arn:aws:iam::${account}:role/iam-key-rotator-local`,
      },
      StateMachine: {
        Id: `arn:aws:states:${region}:${account}:stateMachine:iam-key-rotator-local`,
        Name: 'iam-key-rotator-local',
      },
    },
  });

  if (options.signal?.aborted) execution.abort();
  options.signal?.addEventListener('abort', () => execution.abort(), { once: true });

  const history: HistoryEvent[] = [];
  const collecting = (async () => {
    for await (const event of execution.eventLogs) {
      const e = event as unknown as HistoryEvent;
      history.push(e);
      options.onEvent?.(e);
    }
  })();

  let output: unknown = null;
  let error: ExecutionResult['error'] = null;
  try {
    output = await execution.result;
  } catch (failure) {
    const f = failure as { name?: string; message?: string; cause?: unknown };
    error = { Error: f.name ?? 'Error', Cause: typeof f.cause === 'string' ? f.cause : (f.message ?? '') };
  }
  await collecting;
  const failed = history.find((e) => e.type === 'ExecutionFailed');
  if (failed)
    error = { Error: failed.Error ?? error?.Error ?? 'Error', Cause: failed.Cause ?? error?.Cause ?? '' };
  return {
    status: error ? 'FAILED' : 'SUCCEEDED',
    output,
    error,
    history,
    states: history.filter((e) => e.type === 'StateEntered' && e.state).map((e) => e.state?.name ?? ''),
    durationMs: Date.now() - started.getTime(),
  };
}
