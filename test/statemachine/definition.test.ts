import aslValidator from 'asl-validator';
import { describe, expect, it } from 'vitest';
import { HAPPY_PATH } from '../support/paths.js';
import { loadDefinition, taskFunctions } from '../../local-stack/state-machine.js';
import * as errors from '../../functions/commons/errors.js';

interface Retrier {
  ErrorEquals: string[];
  IntervalSeconds?: number;
  MaxAttempts?: number;
  BackoffRate?: number;
}
interface State {
  Type: string;
  Resource?: unknown;
  Next?: string;
  End?: boolean;
  Default?: string;
  Choices?: { Next: string }[];
  Catch?: { ErrorEquals: string[]; ResultPath?: string; Next: string }[];
  Retry?: Retrier[];
  TimeoutSeconds?: number;
  Error?: string;
  ErrorPath?: string;
  Cause?: string;
  CausePath?: string;
}

const definition = loadDefinition() as unknown as { StartAt: string; States: Record<string, State> };
const states = Object.entries(definition.States);
/** The Lambda tasks; the fleet signals (aws-sdk:sfn) are checked in test/fleet. */
const tasks = states.filter(([, s]) => s.Type === 'Task' && String(s.Resource).includes(':lambda:'));
/** The names of the rotator's errors that retrying cannot fix. */
const PERMANENT_ERRORS = Object.values(errors)
  .filter((value) => typeof value === 'function' && value.prototype instanceof errors.PermanentError)
  .map((cls) => cls.name);
const LAMBDA_ERRORS = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
];

function successors(state: State): string[] {
  return [
    ...(state.Next ? [state.Next] : []),
    ...(state.Default ? [state.Default] : []),
    ...(state.Choices ?? []).map((c) => c.Next),
    ...(state.Catch ?? []).map((c) => c.Next),
  ];
}

describe('statemachine/rotate-access-key.asl.json', () => {
  it('passes asl-validator', () => {
    const { isValid, errors } = aslValidator(definition);
    expect(errors).toEqual([]);
    expect(isValid).toBe(true);
  });

  it('maps every Task to one of the deployed functions', () => {
    expect(Object.values(taskFunctions()).sort()).toEqual(
      [
        'createKey',
        'deactivateOld',
        'deleteOld',
        'discardLeftovers',
        'discardNewKey',
        'restoreVault',
        'storeInVault',
        'validateInput',
        'verifyKey',
      ].sort(),
    );
  });

  it('reaches every state from StartAt', () => {
    const seen = new Set<string>();
    const queue = [definition.StartAt];
    while (queue.length > 0) {
      const name = queue.pop() ?? '';
      if (seen.has(name)) continue;
      seen.add(name);
      const state = definition.States[name];
      if (state) queue.push(...successors(state));
    }
    expect([...seen].sort()).toEqual(Object.keys(definition.States).sort());
  });

  it.each(tasks)(
    '%s has a timeout, retries transient errors with backoff and catches every error',
    (_, task) => {
      expect(task.TimeoutSeconds).toBeGreaterThan(0);
      const retriedErrors = (task.Retry ?? []).flatMap((r) => r.ErrorEquals);
      expect(retriedErrors).toEqual(expect.arrayContaining(LAMBDA_ERRORS));
      for (const retrier of task.Retry ?? []) {
        expect(retrier.MaxAttempts).toBeGreaterThan(1);
        expect(retrier.BackoffRate).toBeGreaterThan(1);
        expect(retrier.ErrorEquals).not.toContain('States.ALL');
      }
      expect(task.Catch).toHaveLength(1);
    },
  );

  it.each(tasks.filter(([name]) => !['ValidateInput', 'DiscardLeftovers'].includes(name)))(
    '%s catches with ResultPath $.error, keeping its input for the rollback',
    (_, task) => {
      expect(task.Catch?.[0]?.ResultPath).toBe('$.error');
    },
  );

  it('lets the error replace the input when ValidateInput fails, since the input may not be an object', () => {
    // No ResultPath means "$" (aws-local-stepfunctions mishandles an explicit "$").
    expect(definition.States.ValidateInput?.Catch?.[0]?.ResultPath).toBeUndefined();
    expect(definition.States.InputRejected?.ErrorPath).toBe('$.Error');
    expect(definition.States.InputRejected?.CausePath).toBe('$.Cause');
  });

  it.each(tasks.filter(([name]) => name !== 'ValidateInput'))(
    '%s retries the rotator’s own transient errors',
    (_, task) => {
      const retriedErrors = (task.Retry ?? []).flatMap((r) => r.ErrorEquals);
      expect(retriedErrors).toEqual(expect.arrayContaining(['AwsUnavailableError', 'VaultUnavailableError']));
    },
  );

  it.each(tasks)(
    '%s retries no permanent error: TargetAccountAccessError and the others go to its Catch',
    (_, task) => {
      const retriedErrors = (task.Retry ?? []).flatMap((r) => r.ErrorEquals);
      expect(PERMANENT_ERRORS).toContain('TargetAccountAccessError');
      expect(retriedErrors.filter((name) => PERMANENT_ERRORS.includes(name))).toEqual([]);
      expect(task.Catch?.[0]?.ErrorEquals).toEqual(['States.ALL']);
    },
  );

  it('sends every CreateKey failure through DiscardLeftovers to CreateKeyFailed, which keeps CreateKey’s error', () => {
    const { CreateKey, DiscardLeftovers, LeftoversMayRemain, CreateKeyFailed } = definition.States;
    expect(CreateKey?.Catch).toEqual([
      { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'DiscardLeftovers' },
    ]);
    expect(DiscardLeftovers?.Next).toBe('CreateKeyFailed');
    // Its own failure lands beside CreateKey's error, never over it.
    expect(DiscardLeftovers?.Catch?.[0]).toMatchObject({
      ErrorEquals: ['States.ALL'],
      ResultPath: '$.cleanupError',
      Next: 'LeftoversMayRemain',
    });
    expect(LeftoversMayRemain).toMatchObject({
      Type: 'Pass',
      ResultPath: '$.error',
      Next: 'CreateKeyFailed',
    });
    expect(CreateKeyFailed).toMatchObject({
      Type: 'Fail',
      ErrorPath: '$.error.Error',
      CausePath: '$.error.Cause',
    });
    // Retried as long as the other compensation, DiscardNewKey.
    expect(DiscardLeftovers?.Retry).toEqual(definition.States.DiscardNewKey?.Retry);
    expect(DiscardLeftovers?.TimeoutSeconds).toBe(definition.States.DiscardNewKey?.TimeoutSeconds);
  });

  it('lets VerifyKey wait about two minutes for IAM propagation', () => {
    const retrier = definition.States.VerifyKey?.Retry?.find((r) =>
      r.ErrorEquals.includes('KeyNotYetValidError'),
    );
    expect(retrier).toBeDefined();
    let total = 0;
    let interval = retrier?.IntervalSeconds ?? 1;
    for (let i = 0; i < (retrier?.MaxAttempts ?? 0); i++) {
      total += Math.min(interval, 30);
      interval *= retrier?.BackoffRate ?? 1;
    }
    expect(total).toBeGreaterThanOrEqual(90);
    expect(total).toBeLessThanOrEqual(180);
  });

  it.each(states.filter(([, s]) => s.Type === 'Fail'))(
    'Fail state %s names an error and a cause',
    (_, fail) => {
      expect(fail.Error ?? fail.ErrorPath).toBeTruthy();
      expect(fail.Cause ?? fail.CausePath).toBeTruthy();
    },
  );

  it('sends a failed Vault write and a failed verification through both rollback steps', () => {
    for (const step of ['StoreInVault', 'VerifyKey']) {
      let name = definition.States[step]?.Catch?.[0]?.Next ?? '';
      const path: string[] = [];
      while (definition.States[name]?.Type !== 'Choice' && path.length < 10) {
        path.push(name);
        name = definition.States[name]?.Next ?? '';
      }
      expect(path).toEqual([expect.stringMatching(/Rollback$/), 'RestoreVault', 'DiscardNewKey']);
    }
    expect(definition.States.RestoreVault?.Catch?.[0]?.Next).toBe('RollbackFailed');
    expect(definition.States.DiscardNewKey?.Catch?.[0]?.Next).toBe('RollbackFailed');
  });

  it('deactivates old keys only after VerifyKey and deletes them only after a further wait', () => {
    const order: string[] = [];
    let name: string | undefined = definition.StartAt;
    while (name && order.length < 20) {
      order.push(name);
      const state: State | undefined = definition.States[name];
      // The path of a rotation with an old key that is no longer in use.
      name =
        state?.Type === 'Choice'
          ? name === 'HasOldKeys'
            ? state.Choices?.find((c) => c.Next === 'GracePeriod')?.Next
            : state.Default
          : state?.Next;
    }
    expect(order).toEqual(HAPPY_PATH);
  });
});
