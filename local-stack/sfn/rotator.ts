import type { Handler, Json } from '../lambda.js';
import { LOCAL_RETRY_PAUSES } from '../rotation.js';
import { loadDefinition, loadHandlers, runExecution, taskFunctions } from '../state-machine.js';
import type { TaskResource } from './history.js';
import type { MachineRun, MachineSpec } from './machines.js';

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
  return {
    name: ROTATOR_MACHINE_NAME,
    definition: JSON.stringify(definition, null, 2),
    roleArn: `arn:aws:iam::${accountId}:role/${ROTATOR_MACHINE_NAME}`,
    tasks,
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
