import type { HistoryEvent, HistoryEventType } from '@aws-sdk/client-sfn';
import type { HistoryEvent as LibraryEvent } from '../state-machine.js';

/** One Lambda invocation as the Task's handler wrapper saw it. */
export interface Invocation {
  input: unknown;
  startedAt: number;
  endedAt?: number;
  output?: unknown;
}

/** What the history needs to know about a Task state: the function it invokes and its timeout. */
export interface TaskResource {
  resource: string;
  timeoutInSeconds?: number;
}

const STATE_EVENT_PREFIX: Record<string, string> = {
  Task: 'Task',
  Choice: 'Choice',
  Wait: 'Wait',
  Pass: 'Pass',
  Succeed: 'Succeed',
  Fail: 'Fail',
  Parallel: 'Parallel',
  Map: 'Map',
};

const json = (value: unknown): string => JSON.stringify(value ?? null);
const DATA = { truncated: false };

/**
 * Turns aws-local-stepfunctions' event log into Step Functions history events (AWS's types, ids
 * and *EventDetails). A Task's Lambda events are written when the attempt ends, from what the handler
 * wrapper recorded, with the times the invocation really started and ended.
 */
export class HistoryRecorder {
  readonly events: HistoryEvent[] = [];
  private readonly invocations = new Map<string, Invocation[]>();

  constructor(private readonly tasks: Readonly<Record<string, TaskResource>>) {}

  /** Called by the handler wrapper when a Task state invokes its function; returns its completion. */
  invoke(state: string, input: unknown): (output?: unknown) => void {
    const invocation: Invocation = { input, startedAt: Date.now() };
    const queue = this.invocations.get(state) ?? [];
    queue.push(invocation);
    this.invocations.set(state, queue);
    return (output) => {
      invocation.endedAt = Date.now();
      invocation.output = output;
    };
  }

  started(input: string, roleArn: string, at: number): void {
    this.add(at, 'ExecutionStarted', {
      executionStartedEventDetails: { input, inputDetails: DATA, roleArn },
    });
  }

  aborted(error: string | undefined, cause: string | undefined, at: number): void {
    this.add(at, 'ExecutionAborted', {
      executionAbortedEventDetails: { ...(error ? { error } : {}), ...(cause ? { cause } : {}) },
    });
  }

  /** Maps one event of the local runner; events it has no AWS counterpart for are dropped. */
  record(event: LibraryEvent): void {
    const state = event.state;
    const prefix = state ? STATE_EVENT_PREFIX[state.type] : undefined;
    switch (event.type) {
      case 'StateEntered':
        if (state && prefix) {
          this.add(event.timestamp, `${prefix}StateEntered`, {
            stateEnteredEventDetails: { name: state.name, input: json(state.input), inputDetails: DATA },
          });
        }
        return;
      case 'StateFailed':
        if (state?.type === 'Task')
          this.lambda(state.name, event, { Error: event.Error, Cause: event.Cause });
        return;
      case 'StateExited':
        if (!state || !prefix || state.type === 'Fail') return;
        if (state.type === 'Task' && this.pending(state.name)) this.lambda(state.name, event);
        this.add(event.timestamp, `${prefix}StateExited`, {
          stateExitedEventDetails: { name: state.name, output: json(state.output), outputDetails: DATA },
        });
        return;
      case 'ExecutionSucceeded':
        this.add(event.timestamp, 'ExecutionSucceeded', {
          executionSucceededEventDetails: { output: json(event.output), outputDetails: DATA },
        });
        return;
      case 'ExecutionFailed':
        this.add(event.timestamp, 'ExecutionFailed', {
          executionFailedEventDetails: { error: event.Error ?? 'Error', cause: cause(event.Cause) },
        });
        return;
      case 'ExecutionTimeout':
        this.add(event.timestamp, 'ExecutionTimedOut', {
          executionTimedOutEventDetails: { error: 'States.Timeout' },
        });
        return;
    }
  }

  private pending(state: string): boolean {
    return (this.invocations.get(state)?.length ?? 0) > 0;
  }

  /** Scheduled, Started and the outcome of the state's oldest open invocation. */
  private lambda(state: string, event: LibraryEvent, failure?: { Error?: string; Cause?: unknown }): void {
    const invocation = this.invocations.get(state)?.shift();
    const task = this.tasks[state];
    // A failure before the function was invoked (e.g. a bad Parameters path) has no Lambda events.
    if (!invocation || !task) return;
    const ended = invocation.endedAt ?? event.timestamp;
    this.add(invocation.startedAt, 'LambdaFunctionScheduled', {
      lambdaFunctionScheduledEventDetails: {
        resource: task.resource,
        input: json(invocation.input),
        inputDetails: DATA,
        ...(task.timeoutInSeconds ? { timeoutInSeconds: task.timeoutInSeconds } : {}),
      },
    });
    this.add(invocation.startedAt, 'LambdaFunctionStarted', {});
    if (!failure) {
      this.add(ended, 'LambdaFunctionSucceeded', {
        lambdaFunctionSucceededEventDetails: { output: json(invocation.output), outputDetails: DATA },
      });
    } else if (failure.Error === 'States.Timeout') {
      this.add(ended, 'LambdaFunctionTimedOut', {
        lambdaFunctionTimedOutEventDetails: { error: 'States.Timeout', cause: cause(failure.Cause) },
      });
    } else {
      this.add(ended, 'LambdaFunctionFailed', {
        lambdaFunctionFailedEventDetails: { error: failure.Error ?? 'Error', cause: cause(failure.Cause) },
      });
    }
  }

  private add(at: number, type: string, details: Partial<HistoryEvent>): void {
    const id = this.events.length + 1;
    // Events of one attempt are written together; a timestamp never goes back.
    const last = this.events.at(-1)?.timestamp?.getTime() ?? at;
    this.events.push({
      timestamp: new Date(Math.max(at, last)),
      type: type as HistoryEventType,
      id,
      previousEventId: id - 1,
      ...details,
    });
  }
}

const cause = (value: unknown): string => (typeof value === 'string' ? value : json(value));

/** The event without its input and output, as GetExecutionHistory answers includeExecutionData=false. */
export function withoutData(event: HistoryEvent): HistoryEvent {
  const copy: Record<string, unknown> = { ...event };
  for (const [key, value] of Object.entries(copy)) {
    if (key.endsWith('EventDetails') && value && typeof value === 'object') {
      const details: Record<string, unknown> = { ...value };
      delete details.input;
      delete details.output;
      copy[key] = details;
    }
  }
  return copy as unknown as HistoryEvent;
}
