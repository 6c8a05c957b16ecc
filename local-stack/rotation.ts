import { type FunctionEnvironment, setDefaultFunctionEnvironment } from './function-environment.js';
import type { Handler, Json } from './lambda.js';
import { captureConsole } from './logs.js';
import {
  type Observed,
  observe,
  type Provisioned,
  provisionRotator,
  rotatorEnvironment,
  type SeededUser,
  type Target,
} from './provision.js';
import { type ExecutionResult, type HistoryEvent, runExecution } from './state-machine.js';
import type { LocalStack } from './stack.js';

/** What an in-process rotation (tests, bench) reports; `npm start` reports cli/local-rotation.ts LocalReport. */
export interface RotationReport {
  status: ExecutionResult['status'];
  error: ExecutionResult['error'];
  user: string;
  states: string[];
  history: HistoryEvent[];
  before: Observed;
  after: Observed;
  calls: Record<string, number>;
  durationMs: number;
}

/** Retry pauses that still let VerifyKey outlast a propagation delay of a few seconds. */
export const LOCAL_RETRY_PAUSES: Record<string, number[]> = {
  ValidateInput: [50],
  CreateKey: [100],
  StoreInVault: [100],
  VerifyKey: [100, 500],
  DeactivateOld: [100],
  DeleteOld: [100],
  RestoreVault: [100],
  DiscardNewKey: [100],
  DiscardLeftovers: [100],
};

/** Provisions the rotator on the target and points this process's handlers (each with its own role) at it. */
export async function prepareTarget(target: Target): Promise<Provisioned> {
  const provisioned = await provisionRotator(target);
  Object.assign(process.env, rotatorEnvironment(target, provisioned));
  setDefaultFunctionEnvironment(provisioned.functionEnvironment);
  return provisioned;
}

export interface RotateOptions {
  target: Target;
  /** The emulators, when the target is the local stack: faults and call counts come from them. */
  stack?: LocalStack;
  user: SeededUser;
  faults?: string[];
  /** Execution input; defaults to `{userName}`. */
  input?: Json;
  onEvent?: (event: HistoryEvent) => void;
  onLog?: (line: string) => void;
  /** Waits (grace, recovery) and retry pauses, shortened for a laptop. */
  waitMs?: number | Record<string, number>;
  retryPauseMs?: number | Record<string, number | number[]>;
  executionName?: string;
  /** Handlers to run instead of the real ones (tests wrap the real ones). */
  handlers?: Record<string, Handler>;
  /** Each function's own variables (its role's keys); defaults to what the last prepareTarget provisioned. */
  functionEnvironment?: FunctionEnvironment;
}

/** Runs the real state machine with the real handlers for one user and reports what changed. */
export async function rotate(options: RotateOptions): Promise<RotationReport & { logs: string[] }> {
  const { target, stack, user } = options;
  const before = await observe(target, user);
  stack?.traffic.resetCalls();
  for (const fault of options.faults ?? []) stack?.traffic.addFault(fault);
  const capture = captureConsole(options.onLog);
  let result: ExecutionResult;
  try {
    result = await runExecution({
      input: options.input === undefined ? { userName: user.userName } : options.input,
      waitMs: options.waitMs ?? 200,
      retryPauseMs: options.retryPauseMs ?? LOCAL_RETRY_PAUSES,
      region: target.aws.region,
      ...(options.onEvent ? { onEvent: options.onEvent } : {}),
      ...(options.executionName ? { executionName: options.executionName } : {}),
      ...(options.handlers ? { handlers: options.handlers } : {}),
      ...(options.functionEnvironment ? { functionEnvironment: options.functionEnvironment } : {}),
    });
  } finally {
    capture.restore();
    stack?.traffic.clearFaults();
  }
  const calls = stack?.traffic.calls() ?? {};
  const after = await observe(target, user);
  return {
    status: result.status,
    error: result.error,
    user: user.userName,
    states: result.states,
    history: result.history,
    before,
    after,
    calls,
    durationMs: result.durationMs,
    logs: capture.lines,
  };
}
