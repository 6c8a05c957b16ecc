import type { Json } from './lambda.js';
import { captureConsole } from './logs.js';
import {
  type Observed,
  observe,
  provisionRotator,
  rotatorEnvironment,
  type SeededUser,
  seedUser,
  type Target,
} from './provision.js';
import { type ExecutionResult, type HistoryEvent, runExecution } from './state-machine.js';
import type { LocalStack } from './stack.js';

/** The document `npm start -- --json` prints. */
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

export interface LocalRotationOptions {
  target: Target;
  /** The emulators, when the target is the local stack: faults and call counts come from them. */
  stack?: LocalStack;
  userName: string;
  faults?: string[];
  input?: Record<string, Json>;
  onEvent?: (event: HistoryEvent) => void;
  onLog?: (line: string) => void;
  /** Waits (grace, recovery) and retry pauses, shortened for a laptop. */
  waitMs?: number;
  retryPauseMs?: number | Record<string, number | number[]>;
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
};

/**
 * Provisions the rotator on the target, seeds a user whose current key is in Vault, runs the
 * real state machine with the real handlers and reports what changed.
 */
export async function runLocalRotation(
  options: LocalRotationOptions,
): Promise<RotationReport & { logs: string[] }> {
  const { target, stack } = options;
  const provisioned = await provisionRotator(target);
  const user: SeededUser = await seedUser(target, options.userName);
  Object.assign(process.env, rotatorEnvironment(target, provisioned));
  const before = await observe(target, user);
  stack?.traffic.resetCalls();
  for (const fault of options.faults ?? []) stack?.traffic.addFault(fault);

  const capture = captureConsole(options.onLog);
  let result: ExecutionResult;
  try {
    result = await runExecution({
      input: { userName: options.userName, ...options.input },
      waitMs: options.waitMs ?? 200,
      retryPauseMs: options.retryPauseMs ?? LOCAL_RETRY_PAUSES,
      ...(options.onEvent ? { onEvent: options.onEvent } : {}),
      region: target.aws.region,
    });
  } finally {
    capture.restore();
  }
  const calls = stack?.traffic.calls() ?? {};
  stack?.traffic.clearFaults();
  const after = await observe(target, user);
  return {
    status: result.status,
    error: result.error,
    user: options.userName,
    states: result.states,
    history: result.history,
    before,
    after,
    calls,
    durationMs: result.durationMs,
    logs: capture.lines,
  };
}
