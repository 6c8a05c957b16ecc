import type { HistoryEvent, HistoryEventType } from '@aws-sdk/client-sfn';
import type { HistoryEvent as LibraryEvent } from '../state-machine.js';

/** One Lambda invocation as the Task's handler wrapper saw it. */
export interface Invocation {
  input: unknown;
  startedAt: number;
  endedAt?: number;
  output?: unknown;
}

/**
 * What the history needs to know about a Task state: the Lambda function it invokes, or for a service
 * integration (`arn:aws:states:::states:startExecution.sync:2`) its resourceType (`states`) and
 * resource (`startExecution.sync:2`); and its timeout.
 */
export interface TaskResource {
  resource: string;
  timeoutInSeconds?: number;
  service?: { resourceType: string; region: string };
  /**
   * A DISTRIBUTED Map the runner executes as a Task: its events are the Map's (MapStateEntered,
   * MapStateStarted, MapRunStarted, MapRunSucceeded/Failed, MapStateSucceeded/Failed,
   * MapStateExited); its invocation's input is `{mapRunArn, length}`.
   */
  mapRun?: true;
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

/** A Task state's invocations and how far the history has reported them. */
interface TaskAttempts {
  /** Attempts the runner has opened (entering the state, each retry). */
  opened: number;
  invocations: Invocation[];
  /** Invocations whose LambdaFunctionScheduled and Started are written. */
  started: number;
  /** Invocations whose outcome is written. */
  ended: number;
}

/**
 * Turns aws-local-stepfunctions' event log into Step Functions history events (AWS's types, ids
 * and *EventDetails). The runner reports asynchronously, while the handler wrapper reports each
 * invocation as it happens: an invocation's Scheduled and Started are written once the runner's
 * event that opened the attempt (entering the state, or a retry) is written, with the invocation's
 * own times, and its outcome when the runner reports the attempt's end.
 */
export class HistoryRecorder {
  readonly events: HistoryEvent[] = [];
  private readonly attempts = new Map<string, TaskAttempts>();

  constructor(private readonly tasks: Readonly<Record<string, TaskResource>>) {}

  private attemptsOf(state: string): TaskAttempts {
    let attempts = this.attempts.get(state);
    if (!attempts) {
      attempts = { opened: 0, invocations: [], started: 0, ended: 0 };
      this.attempts.set(state, attempts);
    }
    return attempts;
  }

  /** Called by the handler wrapper when a Task state invokes its function; returns its completion. */
  invoke(state: string, input: unknown): (output?: unknown) => void {
    const invocation: Invocation = { input, startedAt: Date.now() };
    this.attemptsOf(state).invocations.push(invocation);
    this.flush(state);
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
    for (const [state, attempts] of this.attempts) {
      if (this.tasks[state]?.mapRun && attempts.ended < attempts.started) this.add(at, 'MapRunAborted', {});
    }
    this.add(at, 'ExecutionAborted', {
      executionAbortedEventDetails: { ...(error ? { error } : {}), ...(cause ? { cause } : {}) },
    });
  }

  /** Maps one event of the local runner; events it has no AWS counterpart for are dropped. */
  record(event: LibraryEvent): void {
    const state = event.state;
    const task = state?.type === 'Task' ? state.name : undefined;
    const prefix =
      task && this.tasks[task]?.mapRun ? 'Map' : state ? STATE_EVENT_PREFIX[state.type] : undefined;
    switch (event.type) {
      case 'StateEntered':
        if (state && prefix) {
          this.add(event.timestamp, `${prefix}StateEntered`, {
            stateEnteredEventDetails: { name: state.name, input: json(state.input), inputDetails: DATA },
          });
        }
        if (task) this.open(task);
        return;
      case 'StateRetried':
        if (task) this.open(task);
        return;
      case 'StateFailed':
        if (task) this.outcome(task, event, { Error: event.Error, Cause: event.Cause });
        return;
      case 'StateExited':
        if (!state || !prefix || state.type === 'Fail') return;
        if (task) this.outcome(task, event);
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

  private open(state: string): void {
    this.attemptsOf(state).opened += 1;
    this.flush(state);
  }

  /** Writes Scheduled and Started for each invocation whose attempt is opened in the history. */
  private flush(state: string): void {
    const attempts = this.attemptsOf(state);
    const task = this.tasks[state];
    while (task && attempts.started < Math.min(attempts.opened, attempts.invocations.length)) {
      const invocation = attempts.invocations[attempts.started];
      attempts.started += 1;
      if (!invocation) continue;
      if (task.mapRun) {
        const { mapRunArn, length } = invocation.input as { mapRunArn: string; length: number };
        this.add(invocation.startedAt, 'MapStateStarted', { mapStateStartedEventDetails: { length } });
        this.add(invocation.startedAt, 'MapRunStarted', { mapRunStartedEventDetails: { mapRunArn } });
        continue;
      }
      if (task.service) {
        const { resourceType, region } = task.service;
        this.add(invocation.startedAt, 'TaskScheduled', {
          taskScheduledEventDetails: {
            resourceType,
            resource: task.resource,
            region,
            parameters: json(invocation.input),
            ...(task.timeoutInSeconds ? { timeoutInSeconds: task.timeoutInSeconds } : {}),
          },
        });
        this.add(invocation.startedAt, 'TaskStarted', {
          taskStartedEventDetails: { resourceType, resource: task.resource },
        });
        continue;
      }
      this.add(invocation.startedAt, 'LambdaFunctionScheduled', {
        lambdaFunctionScheduledEventDetails: {
          resource: task.resource,
          input: json(invocation.input),
          inputDetails: DATA,
          ...(task.timeoutInSeconds ? { timeoutInSeconds: task.timeoutInSeconds } : {}),
        },
      });
      this.add(invocation.startedAt, 'LambdaFunctionStarted', {});
    }
  }

  /** The outcome of the state's oldest started invocation; none when the attempt failed before invoking. */
  private outcome(state: string, event: LibraryEvent, failure?: { Error?: string; Cause?: unknown }): void {
    this.flush(state);
    const attempts = this.attemptsOf(state);
    const mapRun = this.tasks[state]?.mapRun;
    if (attempts.ended >= attempts.started) {
      // The Map failed before its Map Run started (its inputs did not resolve).
      if (mapRun && failure) this.add(event.timestamp, 'MapStateFailed', {});
      return;
    }
    const invocation = attempts.invocations[attempts.ended];
    attempts.ended += 1;
    const ended = invocation?.endedAt ?? event.timestamp;
    if (mapRun) {
      if (!failure) {
        this.add(ended, 'MapRunSucceeded', {});
        this.add(ended, 'MapStateSucceeded', {});
      } else {
        this.add(ended, 'MapRunFailed', {
          mapRunFailedEventDetails: { error: failure.Error ?? 'Error', cause: cause(failure.Cause) },
        });
        this.add(ended, 'MapStateFailed', {});
      }
      return;
    }
    const service = this.tasks[state]?.service;
    if (service) {
      const base = { resourceType: service.resourceType, resource: this.tasks[state]?.resource ?? '' };
      if (!failure) {
        this.add(ended, 'TaskSucceeded', {
          taskSucceededEventDetails: { ...base, output: json(invocation?.output), outputDetails: DATA },
        });
      } else {
        this.add(ended, failure.Error === 'States.Timeout' ? 'TaskTimedOut' : 'TaskFailed', {
          [failure.Error === 'States.Timeout' ? 'taskTimedOutEventDetails' : 'taskFailedEventDetails']: {
            ...base,
            error: failure.Error ?? 'Error',
            cause: cause(failure.Cause),
          },
        });
      }
      return;
    }
    if (!failure) {
      this.add(ended, 'LambdaFunctionSucceeded', {
        lambdaFunctionSucceededEventDetails: { output: json(invocation?.output), outputDetails: DATA },
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
