import { floorsFromEnv } from '../../functions/commons/config.js';
import { floorTags } from '../../functions/commons/floor-tags.js';
import { AwsServiceError } from '../aws/errors.js';
import { asLambda, type Handler, type Json } from '../lambda.js';
import { LOCAL_RETRY_PAUSES } from '../rotation.js';
import { loadDefinition, loadHandlers, runExecution, taskFunctions } from '../state-machine.js';
import type { TaskResource } from './history.js';
import type { MachineRun, MachineSpec } from './machines.js';
import type { StepFunctions } from './service.js';

/** The name the local stack registers the rotator's state machine under. */
export const ROTATOR_MACHINE_NAME = 'iam-key-rotator-local';

export interface RotatorMachineOptions {
  region: string;
  accountId: string;
  /**
   * How long a Wait state lasts (ms), all or by state, when `waitScale` does not set it; default 200.
   * The ASL's waits are minutes to days.
   */
  waitMs?: number | Record<string, number>;
  /**
   * A Wait whose SecondsPath reads `$.request.<field>` lasts `waitScale` × the seconds the execution
   * input gives in `<field>` (e.g. 0.01: `graceSeconds: 3600` waits 36 s); by-state `waitMs` wins.
   */
  waitScale?: number;
  /** Pause between retries (ms) instead of the ASL's backoff. */
  retryPauseMs?: number | Record<string, number | number[]>;
  /** Handlers to run instead of the real ones, by function name (tests). */
  handlers?: Record<string, Handler>;
  /** Where the fleet signals (`aws-sdk:sfn:sendTaskSuccess`) answer a waiting task token. */
  sfn?: StepFunctions;
}

/** The AWS SDK integration the per-user machine signals a waiting fleet with. */
const SEND_TASK_SUCCESS = /^arn:aws[a-z-]*:states:::aws-sdk:sfn:sendTaskSuccess$/;

/** An error of an AWS SDK integration, as Step Functions names it: `Sfn.<Code>Exception`. */
class SdkIntegrationError extends Error {
  constructor(error: AwsServiceError) {
    super(error.message);
    this.name = `Sfn.${error.code.replace(/Exception$/, '')}Exception`;
  }
}

/** SendTaskSuccess as the state machine's own call (the machine's role, not a function's). */
function sendTaskSuccess(sfn: StepFunctions | undefined): Handler {
  return async (input) => {
    const { TaskToken, Output } = (input ?? {}) as { TaskToken?: string; Output?: string };
    if (!sfn) throw new Error('no Step Functions endpoint to signal');
    try {
      sfn.taskTokens.succeed(String(TaskToken ?? ''), String(Output ?? ''));
    } catch (error) {
      if (error instanceof AwsServiceError) throw new SdkIntegrationError(error);
      throw error;
    }
    return {};
  };
}

/** statemachine/rotate-access-key.asl.json with its real handlers, run by the local runner. */
export function rotatorMachine(options: RotatorMachineOptions): MachineSpec {
  const { region, accountId } = options;
  const definition = loadDefinition(region, accountId);
  const functions = taskFunctions();
  const tasks: Record<string, TaskResource> = {};
  for (const state of Object.keys(functions)) {
    const asl = definition.States[state] as { Resource?: string; TimeoutSeconds?: number } | undefined;
    tasks[state] = {
      resource: asl?.Resource ?? '',
      ...(asl?.TimeoutSeconds ? { timeoutInSeconds: asl.TimeoutSeconds } : {}),
    };
  }
  const signals = Object.entries(definition.States).flatMap(([state, asl]) => {
    const task = asl as { Type: string; Resource?: string; TimeoutSeconds?: number };
    return task.Type === 'Task' && SEND_TASK_SUCCESS.test(task.Resource ?? '') ? [state] : [];
  });
  for (const state of signals) {
    tasks[state] = { resource: 'sendTaskSuccess', service: { resourceType: 'aws-sdk:sfn', region } };
  }
  return {
    name: ROTATOR_MACHINE_NAME,
    definition: JSON.stringify(definition, null, 2),
    roleArn: `arn:aws:iam::${accountId}:role/${ROTATOR_MACHINE_NAME}`,
    tasks,
    // The floors of the environment the in-process functions read (provision.ts rotatorEnvironment sets it).
    tags: () => floorTags(floorsFromEnv(process.env)),
    run: async (run: MachineRun) => {
      const real = options.handlers ?? (await loadHandlers());
      // Each function is invoked by one Task state; the wrapper tells the history when and with what.
      const handlers = Object.fromEntries(
        Object.entries(functions).map(([state, fn]) => [fn, observed(state, real[fn], run)]),
      );
      await runExecution({
        input: run.input,
        executionName: run.name,
        waitMs: waitDurations(definition.States, run.input, options),
        retryPauseMs: options.retryPauseMs ?? LOCAL_RETRY_PAUSES,
        region,
        account: accountId,
        handlers,
        serviceTasks: Object.fromEntries(
          signals.map((state) => [state, asLambda(observed(state, sendTaskSuccess(options.sfn), run))]),
        ),
        onEvent: run.onEvent,
        signal: run.signal,
      });
    },
  };
}

/** Each Wait state's duration (ms) for one execution: by-state waitMs, else scaled from the input, else waitMs. */
function waitDurations(
  states: Record<string, unknown>,
  input: Json,
  options: RotatorMachineOptions,
): Record<string, number> {
  const { waitMs = 200, waitScale } = options;
  const fields = input !== null && typeof input === 'object' && !Array.isArray(input) ? input : {};
  const durations: Record<string, number> = {};
  for (const [name, state] of Object.entries(states)) {
    const wait = state as { Type?: string; Seconds?: number; SecondsPath?: string };
    if (wait.Type !== 'Wait') continue;
    const field = /^\$\.request\.(\w+)$/.exec(wait.SecondsPath ?? '')?.[1];
    const given = field === undefined ? wait.Seconds : fields[field];
    const fixed = typeof waitMs === 'number' ? waitMs : (waitMs[name] ?? 200);
    durations[name] =
      typeof waitMs === 'object' && waitMs[name] !== undefined
        ? waitMs[name]
        : waitScale !== undefined && typeof given === 'number'
          ? Math.round(given * 1000 * waitScale)
          : fixed;
  }
  return durations;
}

function observed(state: string, handler: Handler | undefined, run: MachineRun): Handler {
  if (!handler) throw new Error(`no handler for the function of state ${state}`);
  return async (event) => {
    const done = run.invoke(state, event);
    try {
      const output = await handler(event);
      done(output);
      return output;
    } catch (error) {
      done();
      throw error;
    }
  };
}
