import { describe, expect, it } from 'vitest';
import { HistoryRecorder, withoutData } from '../../local-stack/sfn/history.js';
import type { HistoryEvent as LibraryEvent } from '../../local-stack/state-machine.js';

const TASKS = {
  CreateKey: { resource: 'arn:aws:lambda:us-east-1:123456789012:function:f-createKey', timeoutInSeconds: 70 },
};
const task = (input: unknown = {}, output?: unknown) => ({ name: 'CreateKey', type: 'Task', input, output });

describe('the history recorder', () => {
  it('writes Scheduled and Started while the function runs, after the event that opened the attempt', () => {
    const recorder = new HistoryRecorder(TASKS);
    recorder.started('{}', 'arn:aws:iam::123456789012:role/r', 1000);
    // The runner invokes the handler before its StateEntered reaches the recorder.
    const first = recorder.invoke('CreateKey', { request: { userName: 'u' } });
    expect(recorder.events.map((e) => e.type)).toEqual(['ExecutionStarted']);
    recorder.record({ type: 'StateEntered', timestamp: 1001, state: task() } as LibraryEvent);
    expect(recorder.events.map((e) => e.type)).toEqual([
      'ExecutionStarted',
      'TaskStateEntered',
      'LambdaFunctionScheduled',
      'LambdaFunctionStarted',
    ]);
    first();
    recorder.record({
      type: 'StateFailed',
      timestamp: 1002,
      state: task(),
      Error: 'AwsUnavailableError',
      Cause: '{"errorType":"AwsUnavailableError"}',
    } as LibraryEvent);
    // The retry's invocation comes before the runner's StateRetried is recorded.
    const second = recorder.invoke('CreateKey', { request: { userName: 'u' } });
    expect(recorder.events.at(-1)?.type).toBe('LambdaFunctionFailed');
    recorder.record({
      type: 'StateRetried',
      timestamp: 1003,
      state: task(),
      retry: { retrier: 0, attempt: 1 },
    } as LibraryEvent);
    expect(recorder.events.at(-1)?.type).toBe('LambdaFunctionStarted');
    second({ accessKeyId: 'AKIA' });
    recorder.record({
      type: 'StateExited',
      timestamp: 1004,
      state: task({}, { created: {} }),
    } as LibraryEvent);

    const events = recorder.events;
    expect(events.map((e) => e.type)).toEqual([
      'ExecutionStarted',
      'TaskStateEntered',
      'LambdaFunctionScheduled',
      'LambdaFunctionStarted',
      'LambdaFunctionFailed',
      'LambdaFunctionScheduled',
      'LambdaFunctionStarted',
      'LambdaFunctionSucceeded',
      'TaskStateExited',
    ]);
    expect(events.map((e) => e.id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(events.map((e) => e.previousEventId)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(events[2]?.lambdaFunctionScheduledEventDetails).toEqual({
      resource: TASKS.CreateKey.resource,
      input: '{"request":{"userName":"u"}}',
      inputDetails: { truncated: false },
      timeoutInSeconds: 70,
    });
    expect(events[4]?.lambdaFunctionFailedEventDetails).toEqual({
      error: 'AwsUnavailableError',
      cause: '{"errorType":"AwsUnavailableError"}',
    });
    expect(events[7]?.lambdaFunctionSucceededEventDetails?.output).toBe('{"accessKeyId":"AKIA"}');
    const times = events.map((e) => e.timestamp?.getTime() ?? 0);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(withoutData(events[2] ?? { id: 0, type: undefined, timestamp: undefined })).not.toHaveProperty(
      'lambdaFunctionScheduledEventDetails.input',
    );
  });

  it('writes a timeout as LambdaFunctionTimedOut and a failure before the invocation without Lambda events', () => {
    const recorder = new HistoryRecorder(TASKS);
    recorder.record({ type: 'StateEntered', timestamp: 1, state: task() } as LibraryEvent);
    recorder.invoke('CreateKey', {});
    recorder.record({
      type: 'StateFailed',
      timestamp: 2,
      state: task(),
      Error: 'States.Timeout',
      Cause: 'timed out',
    } as LibraryEvent);
    recorder.record({
      type: 'StateEntered',
      timestamp: 3,
      state: { name: 'Other', type: 'Task', input: {} },
    } as LibraryEvent);
    recorder.record({
      type: 'StateFailed',
      timestamp: 4,
      state: { name: 'Other', type: 'Task', input: {} },
      Error: 'States.Runtime',
    } as LibraryEvent);
    recorder.record({
      type: 'ExecutionFailed',
      timestamp: 5,
      Error: 'States.Runtime',
      Cause: 'bad path',
    } as LibraryEvent);
    expect(recorder.events.map((e) => e.type)).toEqual([
      'TaskStateEntered',
      'LambdaFunctionScheduled',
      'LambdaFunctionStarted',
      'LambdaFunctionTimedOut',
      'TaskStateEntered',
      'ExecutionFailed',
    ]);
    expect(recorder.events[3]?.lambdaFunctionTimedOutEventDetails).toEqual({
      error: 'States.Timeout',
      cause: 'timed out',
    });
  });
});
