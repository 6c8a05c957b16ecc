import aslValidator from 'asl-validator';
import { describe, expect, it } from 'vitest';
import { loadFleetDefinition } from '../../local-stack/sfn/fleet.js';
import { loadDefinition } from '../../local-stack/state-machine.js';

interface State {
  Type: string;
  Resource?: string;
  Parameters?: Record<string, unknown>;
  Next?: string;
  Catch?: { ErrorEquals: string[]; Next: string; ResultPath?: string }[];
  Choices?: { Next: string }[];
  MaxConcurrencyPath?: string;
  ToleratedFailurePercentage?: number;
  ItemProcessor?: { States: Record<string, State> };
  TimeoutSeconds?: number;
  Error?: string;
  CausePath?: string;
}

const ROTATOR = 'arn:aws:states:us-east-1:123456789012:stateMachine:iam-key-rotator-local';
const fleet = loadFleetDefinition('us-east-1', '123456789012', ROTATOR) as unknown as {
  States: Record<string, State>;
};
const rotator = loadDefinition() as unknown as { States: Record<string, State> };

describe('statemachine/rotate-fleet.asl.json', () => {
  it('passes asl-validator', () => {
    const { isValid, errors } = aslValidator(fleet);
    expect(errors).toEqual([]);
    expect(isValid).toBe(true);
  });

  it('maps over the due users with the input’s concurrency, tolerating every failure', () => {
    const map = fleet.States.RotateDueUsers;
    expect(map).toMatchObject({
      Type: 'Map',
      MaxConcurrencyPath: '$.maxConcurrency',
      ToleratedFailurePercentage: 100,
    });
    const start = map?.ItemProcessor?.States.StartRotation;
    expect(start?.Resource).toBe('arn:aws:states:::states:startExecution.waitForTaskToken');
    expect(start?.Parameters).toMatchObject({ StateMachineArn: ROTATOR, 'Name.$': '$.user.executionName' });
    expect(String(start?.Parameters?.['Input.$'])).toContain('$$.Task.Token');
    // Each child rotates in its user's account.
    expect(String(start?.Parameters?.['Input.$'])).toContain('"accountId":"{}"');
    expect(String(start?.Parameters?.['Input.$'])).toContain('$.user.accountId');
    for (const end of ['UserSignalled', 'AlreadyStarted', 'UserFailed']) {
      expect(map?.ItemProcessor?.States[end]?.Parameters?.['accountId.$'], end).toBe('$.user.accountId');
    }
    expect(start?.TimeoutSeconds).toBeGreaterThan(0);
    expect(start?.Catch?.map((c) => [c.ErrorEquals, c.Next])).toEqual([
      [['StepFunctions.ExecutionAlreadyExistsException'], 'AlreadyStarted'],
      [['States.ALL'], 'UserFailed'],
    ]);
  });

  it('ends FleetRotationIncomplete, with the summary’s cause, when any child failed or any account was not listed', () => {
    expect(fleet.States.Summarize?.Parameters).toMatchObject({
      'accounts.$': '$.accounts',
      'failedAccounts.$': '$.failedAccounts',
    });
    expect(fleet.States.AnyFailed?.Choices).toEqual([
      { Variable: '$.failureCause', IsPresent: true, Next: 'FleetRotationIncomplete' },
    ]);
    expect(fleet.States.FleetRotationIncomplete).toMatchObject({
      Type: 'Fail',
      Error: 'FleetRotationIncomplete',
      CausePath: '$.failureCause',
    });
  });
});

describe('the per-user machine’s fleet signals', () => {
  it.each([
    ['SignalFleetPlanned', 'IsDryRun'],
    ['SignalFleetStored', 'HasOldKeys'],
  ])(
    '%s sends SendTaskSuccess with the input’s token, and nothing it meets fails the rotation',
    (name, back) => {
      const state = rotator.States[name];
      expect(state?.Resource).toBe('arn:aws:states:::aws-sdk:sfn:sendTaskSuccess');
      expect(state?.Parameters?.['TaskToken.$']).toBe('$$.Execution.Input.fleetTaskToken');
      expect(state?.Next).toBe(back);
      expect(state?.Catch).toEqual([
        expect.objectContaining({ ErrorEquals: ['States.ALL'], Next: back, ResultPath: '$.fleetSignal' }),
      ]);
      expect(rotator.States[back]?.Choices?.[0]?.Next).toBe(name);
    },
  );

  it('signals only once the new key is verified (dry run: once planned)', () => {
    expect(rotator.States.VerifyKey?.Next).toBe('HasOldKeys');
    expect(rotator.States.CreateKey?.Next).toBe('IsDryRun');
  });
});
