import type { HistoryEvent } from '@aws-sdk/client-sfn';
import { describe, expect, it } from 'vitest';
import { outcomeDocument, outcomeSummary } from '../../cli/outcome.js';
import { Progress, statesOf } from '../../cli/progress.js';

const T0 = Date.parse('2026-12-01T10:00:00Z');

/** A history as GetExecutionHistory returns it: ids in order, each event after the previous. */
function recorded(steps: [number, string, Partial<HistoryEvent>?][]): HistoryEvent[] {
  return steps.map(([ms, type, details], i) => ({
    id: i + 1,
    previousEventId: i,
    timestamp: new Date(T0 + ms),
    type: type as HistoryEvent['type'],
    ...details,
  }));
}

const entered = (name: string, input = '{}') => ({ stateEnteredEventDetails: { name, input } });
const exited = (name: string, output = '{}') => ({ stateExitedEventDetails: { name, output } });
const lambdaFailed = (error: string) => ({
  lambdaFunctionFailedEventDetails: {
    error,
    cause: JSON.stringify({ errorType: error, errorMessage: 'HTTP 503' }),
  },
});

// A rotation whose Vault write fails: CreateKey retried once, StoreInVault retried, then caught into the
// rollback, which succeeds; the execution ends in the VaultWriteFailed Fail state.
const VAULT_WRITE_FAILED = recorded([
  [
    0,
    'ExecutionStarted',
    {
      executionStartedEventDetails: {
        input: '{"userName":"alice"}',
        roleArn: 'arn:aws:iam::123456789012:role/r',
      },
    },
  ],
  [1, 'TaskStateEntered', entered('ValidateInput')],
  [
    2,
    'LambdaFunctionScheduled',
    { lambdaFunctionScheduledEventDetails: { resource: 'arn:aws:lambda:us-east-1:123456789012:function:f' } },
  ],
  [3, 'LambdaFunctionStarted'],
  [40, 'LambdaFunctionSucceeded'],
  [
    41,
    'TaskStateExited',
    exited('ValidateInput', '{"request":{"userName":"alice","vaultPath":"aws/iam-users/alice"}}'),
  ],
  [42, 'TaskStateEntered', entered('CreateKey')],
  [43, 'LambdaFunctionScheduled'],
  [44, 'LambdaFunctionStarted'],
  [90, 'LambdaFunctionFailed', lambdaFailed('AwsUnavailableError')],
  [1090, 'LambdaFunctionScheduled'],
  [1091, 'LambdaFunctionStarted'],
  [1200, 'LambdaFunctionSucceeded'],
  [
    1201,
    'TaskStateExited',
    exited('CreateKey', '{"created":{"accessKeyId":"AKIANEW","oldAccessKeyIds":["AKIAOLD"]}}'),
  ],
  [1202, 'ChoiceStateEntered', entered('IsDryRun')],
  [1203, 'ChoiceStateExited', exited('IsDryRun')],
  [1204, 'TaskStateEntered', entered('StoreInVault')],
  [1205, 'LambdaFunctionScheduled'],
  [1206, 'LambdaFunctionStarted'],
  [1300, 'LambdaFunctionFailed', lambdaFailed('VaultUnavailableError')],
  [3300, 'LambdaFunctionScheduled'],
  [3301, 'LambdaFunctionStarted'],
  [3400, 'LambdaFunctionFailed', lambdaFailed('VaultUnavailableError')],
  [3401, 'TaskStateExited', exited('StoreInVault')],
  [3402, 'PassStateEntered', entered('VaultWriteFailedRollback')],
  [3403, 'PassStateExited', exited('VaultWriteFailedRollback')],
  [3404, 'TaskStateEntered', entered('RestoreVault')],
  [3405, 'LambdaFunctionScheduled'],
  [3406, 'LambdaFunctionStarted'],
  [3500, 'LambdaFunctionSucceeded'],
  [3501, 'TaskStateExited', exited('RestoreVault')],
  [3502, 'FailStateEntered', entered('VaultWriteFailed')],
  [
    3503,
    'ExecutionFailed',
    { executionFailedEventDetails: { error: 'VaultWriteFailed', cause: 'Vault refused the write' } },
  ],
]);

describe('the progress view on recorded AWS history', () => {
  it('shows each state with its duration, retries, failed attempts, the catch and the Fail', () => {
    const lines: string[] = [];
    const progress = new Progress((line) => lines.push(line));
    for (const event of VAULT_WRITE_FAILED) progress.add(event);

    expect(lines).toEqual([
      `  ✓ ${'ValidateInput'.padEnd(28)}     40 ms`,
      `  ✗ ${'CreateKey'.padEnd(28)}     48 ms  AwsUnavailableError`,
      '  ↻ CreateKey: retry 1',
      `  ✓ ${'CreateKey'.padEnd(28)}   1159 ms  (1 retry)`,
      `  ✓ ${'IsDryRun'.padEnd(28)}      1 ms`,
      `  ✗ ${'StoreInVault'.padEnd(28)}     96 ms  VaultUnavailableError`,
      '  ↻ StoreInVault: retry 1',
      `  ✗ ${'StoreInVault'.padEnd(28)}   2196 ms  VaultUnavailableError`,
      '  ↳ StoreInVault: caught',
      `  ✓ ${'VaultWriteFailedRollback'.padEnd(28)}      1 ms`,
      `  ✓ ${'RestoreVault'.padEnd(28)}     97 ms`,
      '  ✗ VaultWriteFailed',
      '  ✗ execution failed: VaultWriteFailed',
    ]);
  });

  it('shows a stop and a timeout', () => {
    const lines: string[] = [];
    const progress = new Progress((line) => lines.push(line));
    const stopped = recorded([
      [0, 'ExecutionStarted'],
      [1, 'WaitStateEntered', entered('GracePeriod')],
      [500, 'ExecutionAborted', { executionAbortedEventDetails: { error: 'StoppedByOperator' } }],
    ]);
    for (const event of stopped) progress.add(event);
    progress.add({ id: 9, type: 'ExecutionTimedOut', timestamp: new Date(T0 + 900) });
    expect(lines).toEqual(['  ■ execution stopped in GracePeriod', '  ✗ execution timed out']);
  });

  it('summarises the outcome with the README error table row and the keys from the history', () => {
    const described = {
      executionArn: 'arn:aws:states:us-east-1:123456789012:execution:m:e',
      stateMachineArn: 'arn:aws:states:us-east-1:123456789012:stateMachine:m',
      status: 'FAILED' as const,
      input: '{"userName":"alice"}',
      startDate: new Date(T0),
      stopDate: new Date(T0 + 3503),
      error: 'VaultWriteFailed',
      cause: 'Vault refused the write',
    };
    expect(statesOf(VAULT_WRITE_FAILED)).toEqual([
      'ValidateInput',
      'CreateKey',
      'IsDryRun',
      'StoreInVault',
      'VaultWriteFailedRollback',
      'RestoreVault',
      'VaultWriteFailed',
    ]);
    expect(outcomeDocument(described, VAULT_WRITE_FAILED)).toMatchObject({
      status: 'FAILED',
      error: { Error: 'VaultWriteFailed', Cause: 'Vault refused the write' },
      durationMs: 3503,
    });
    const summary = outcomeSummary(described, VAULT_WRITE_FAILED);
    expect(summary).toContain('Rotation FAILED for alice in 3503 ms');
    expect(summary).toContain('new key:      AKIANEW');
    expect(summary).toContain('old keys:     AKIAOLD');
    expect(summary).toContain('Vault path:   aws/iam-users/alice');
    expect(summary).toContain(
      'left behind:  New key deleted, Vault serves what it served before, old key untouched.',
    );
  });
});
