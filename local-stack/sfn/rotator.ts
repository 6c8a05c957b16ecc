import type { Handler } from '../lambda.js';
import { LOCAL_RETRY_PAUSES } from '../rotation.js';
import { loadDefinition, loadHandlers, runExecution, taskFunctions } from '../state-machine.js';
import type { TaskResource } from './history.js';
import type { MachineRun, MachineSpec } from './machines.js';

/** The name the local stack registers the rotator's state machine under. */
export const ROTATOR_MACHINE_NAME = 'iam-key-rotator-local';

export interface RotatorMachineOptions {
  region: string;
  accountId: string;
  /** How long each Wait state lasts (ms), all or by state: the ASL's waits are minutes to days. */
  waitMs?: number | Record<string, number>;
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
        waitMs: options.waitMs ?? 200,
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
