import { setMaxListeners } from 'node:events';
import type { ExecutionStatus, HistoryEvent } from '@aws-sdk/client-sfn';
import type { Json } from '../lambda.js';
import type { HistoryEvent as LibraryEvent } from '../state-machine.js';
import { executionAlreadyExists, executionDoesNotExist, invalidExecutionInput } from './errors.js';
import { HistoryRecorder } from './history.js';
import type { RegisteredMachine } from './machines.js';
import { executionArn, parseExecutionArn, type Scope } from './names.js';

/** AWS's limit on an execution's input: 256 KiB of UTF-8. */
export const MAX_INPUT_BYTES = 256 * 1024;

export interface Execution {
  arn: string;
  name: string;
  machine: RegisteredMachine;
  input: string;
  status: ExecutionStatus;
  startDate: Date;
  stopDate?: Date;
  output?: string;
  error?: string;
  cause?: string;
  history: HistoryEvent[];
  /** The Map Run that started this execution as one of its child workflows. */
  mapRunArn?: string;
  /** Resolves when the machine's runner has returned (after an abort too). */
  settled: Promise<void>;
}

interface Running extends Execution {
  controller: AbortController;
  recorder: HistoryRecorder;
}

function parseInput(input: string): Json {
  if (Buffer.byteLength(input, 'utf8') > MAX_INPUT_BYTES) {
    throw invalidExecutionInput(`Input is larger than the maximum of ${MAX_INPUT_BYTES} bytes`);
  }
  try {
    return JSON.parse(input) as Json;
  } catch (error) {
    throw invalidExecutionInput(error instanceof Error ? error.message : String(error));
  }
}

/** Every execution of one account and region, running or ended, in start order. */
export class ExecutionRegistry {
  private readonly executions = new Map<string, Running>();
  private readonly endListeners: ((execution: Execution) => void)[] = [];

  constructor(private readonly scope: Scope) {}

  /** Starts an execution in the background; the same name and input while it runs gives it back. */
  start(
    machine: RegisteredMachine,
    name: string,
    input: string,
    options: { mapRunArn?: string } = {},
  ): Execution {
    const arn = executionArn(this.scope, machine.name, name);
    const existing = this.executions.get(arn);
    if (existing) {
      if (existing.status === 'RUNNING' && existing.input === input) return existing;
      throw executionAlreadyExists(arn);
    }
    const parsed = parseInput(input);
    const recorder = new HistoryRecorder(machine.tasks);
    const controller = new AbortController();
    // Each running Map iteration of the execution listens for its stop: no fixed limit applies.
    setMaxListeners(0, controller.signal);
    const startDate = new Date();
    recorder.started(input, machine.roleArn, startDate.getTime());
    const execution: Running = {
      arn,
      name,
      machine,
      input,
      status: 'RUNNING',
      startDate,
      history: recorder.events,
      ...(options.mapRunArn ? { mapRunArn: options.mapRunArn } : {}),
      settled: Promise.resolve(),
      controller,
      recorder,
    };
    this.executions.set(arn, execution);
    // Runs after StartExecution has answered, as in AWS.
    execution.settled = new Promise<void>((resolve) => setImmediate(resolve)).then(() =>
      machine
        .run({
          executionArn: arn,
          name,
          input: parsed,
          signal: controller.signal,
          onEvent: (event) => this.record(execution, event),
          invoke: (state, taskInput) => recorder.invoke(state, taskInput),
        })
        .catch((error: unknown) => {
          if (execution.status !== 'RUNNING') return;
          const cause = error instanceof Error ? error.message : String(error);
          this.record(execution, {
            type: 'ExecutionFailed',
            timestamp: Date.now(),
            Error: 'States.Runtime',
            Cause: cause,
          });
        })
        .finally(() => {
          // A runner that ends without a final event failed in a way the log did not show.
          if (execution.status === 'RUNNING') {
            this.record(execution, {
              type: 'ExecutionFailed',
              timestamp: Date.now(),
              Error: 'States.Runtime',
              Cause: 'the execution ended without a result',
            });
          }
        }),
    );
    return execution;
  }

  private record(execution: Running, event: LibraryEvent): void {
    // After StopExecution the runner may still report; AWS's history ends with ExecutionAborted.
    if (execution.status !== 'RUNNING') return;
    execution.recorder.record(event);
    const end = new Date(event.timestamp);
    switch (event.type) {
      case 'ExecutionSucceeded':
        Object.assign(execution, {
          status: 'SUCCEEDED',
          stopDate: end,
          output: JSON.stringify(event.output ?? null),
        });
        break;
      case 'ExecutionFailed':
        Object.assign(execution, {
          status: 'FAILED',
          stopDate: end,
          error: event.Error ?? 'Error',
          cause: typeof event.Cause === 'string' ? event.Cause : JSON.stringify(event.Cause ?? ''),
        });
        break;
      case 'ExecutionTimeout':
        Object.assign(execution, { status: 'TIMED_OUT', stopDate: end, error: 'States.Timeout' });
        break;
    }
    if (execution.status !== 'RUNNING') this.ended(execution);
  }

  /**
   * Calls `listener` with every execution that ends, as EventBridge's "Step Functions Execution
   * Status Change" events reach their rules' targets in AWS.
   */
  onEnded(listener: (execution: Execution) => void): void {
    this.endListeners.push(listener);
  }

  private ended(execution: Execution): void {
    // After the caller's own bookkeeping, as EventBridge delivers asynchronously.
    for (const listener of this.endListeners) setImmediate(() => listener(execution));
  }

  /** StopExecution: aborts a running execution (its current state is interrupted). */
  stop(arn: string, error?: string, cause?: string): Date {
    const execution = this.get(arn) as Running;
    if (execution.status !== 'RUNNING') return execution.stopDate ?? new Date();
    const stopDate = new Date();
    execution.recorder.aborted(error, cause, stopDate.getTime());
    Object.assign(execution, {
      status: 'ABORTED',
      stopDate,
      ...(error ? { error } : {}),
      ...(cause ? { cause } : {}),
    });
    execution.controller.abort();
    this.ended(execution);
    return stopDate;
  }

  /** Aborts every running execution (the stack is closing), so no timer outlives it. */
  abortAll(): void {
    // The stack is closing: nothing is left to deliver the end of these executions to.
    this.endListeners.length = 0;
    for (const execution of this.executions.values()) {
      if (execution.status === 'RUNNING')
        this.stop(execution.arn, 'States.Aborted', 'the local stack closed');
    }
  }

  get(arn: string): Execution {
    parseExecutionArn(arn);
    const execution = this.executions.get(arn);
    if (!execution) throw executionDoesNotExist(arn);
    return execution;
  }

  /** The machine's executions, newest first. */
  list(machine: RegisteredMachine, status?: ExecutionStatus): Execution[] {
    return [...this.executions.values()]
      .filter((e) => e.machine.arn === machine.arn && (status === undefined || e.status === status))
      .reverse();
  }
}
