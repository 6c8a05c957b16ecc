import aslValidator from 'asl-validator';
import { describe, expect, it } from 'vitest';
import { loadFleetDefinition } from '../../local-stack/sfn/fleet.js';
import { loadDefinition } from '../../local-stack/state-machine.js';

interface State {
  Type: string;
  Comment?: string;
  Resource?: string;
  Parameters?: Record<string, unknown>;
  ResultSelector?: Record<string, unknown>;
  ResultPath?: string;
  Next?: string;
  End?: boolean;
  Retry?: { ErrorEquals: string[] }[];
  Catch?: { ErrorEquals: string[]; Next: string; ResultPath?: string }[];
  Choices?: { Next: string; Variable?: string; NumericEquals?: number }[];
  Default?: string;
  ItemsPath?: string;
  ItemSelector?: Record<string, unknown>;
  MaxConcurrency?: number;
  MaxConcurrencyPath?: string;
  ToleratedFailurePercentage?: number;
  Label?: string;
  ItemReader?: {
    Resource: string;
    ReaderConfig: Record<string, unknown>;
    Parameters: Record<string, unknown>;
  };
  ResultWriter?: { Resource: string; Parameters: Record<string, unknown> };
  ItemProcessor?: {
    ProcessorConfig: Record<string, unknown>;
    StartAt: string;
    States: Record<string, State>;
  };
  TimeoutSeconds?: number;
  Error?: string;
  ErrorPath?: string;
  CausePath?: string;
  Result?: unknown;
}

const ROTATOR = 'arn:aws:states:us-east-1:123456789012:stateMachine:iam-key-rotator-local';
const fleet = loadFleetDefinition('us-east-1', '123456789012', ROTATOR) as unknown as {
  StartAt: string;
  States: Record<string, State>;
};
const rotator = loadDefinition() as unknown as { States: Record<string, State> };
const lambda = (fn: string) => `arn:aws:lambda:us-east-1:123456789012:function:iam-key-rotator-local-${fn}`;

/** Every state, those of the Maps' item processors too. */
const everyState = (states: Record<string, State>): [string, State][] =>
  Object.entries(states).flatMap(([name, state]) => [
    [name, state] as [string, State],
    ...everyState(state.ItemProcessor?.States ?? {}),
  ]);

describe('statemachine/rotate-fleet.asl.json', () => {
  it('passes asl-validator', () => {
    const { isValid, errors } = aslValidator(fleet);
    expect(errors).toEqual([]);
    expect(isValid).toBe(true);
  });

  it('checks the input first: bad input ends FleetNotStarted, nothing listed or started', () => {
    expect(fleet.StartAt).toBe('PlanFleet');
    expect(fleet.States.PlanFleet).toMatchObject({
      Resource: lambda('planFleet'),
      Parameters: { 'input.$': '$$.Execution.Input', 'execution.$': '$$.Execution.Id' },
      Next: 'ListAccounts',
    });
    expect(fleet.States.PlanFleet?.Catch?.map((c) => [c.ErrorEquals, c.Next])).toEqual([
      [['States.ALL'], 'FleetNotStarted'],
    ]);
    expect(fleet.States.FleetNotStarted).toMatchObject({
      Type: 'Fail',
      ErrorPath: '$.Error',
      CausePath: '$.Cause',
    });
  });

  it('lists each account in an invocation of its own; an account that fails is recorded by name and the others go on', () => {
    const map = fleet.States.ListAccounts;
    expect(map).toMatchObject({
      Type: 'Map',
      ItemsPath: '$.accounts',
      MaxConcurrency: 10,
      ItemSelector: {
        'accountId.$': '$$.Map.Item.Value',
        'input.$': '$$.Execution.Input',
        'execution.$': '$$.Execution.Id',
      },
      ResultPath: '$.listed',
      Next: 'WriteManifest',
    });
    expect(map?.ItemProcessor?.ProcessorConfig).toEqual({ Mode: 'INLINE' });
    const list = map?.ItemProcessor?.States.ListCandidates;
    expect(list?.Resource).toBe(lambda('listCandidates'));
    // Only the due count goes on: 1,000 accounts stay small in the state.
    expect(list?.ResultSelector).toEqual({ 'accountId.$': '$.accountId', 'due.$': '$.due' });
    expect(list?.Retry?.[0]?.ErrorEquals).toEqual(
      expect.arrayContaining(['AwsUnavailableError', 'States.Timeout']),
    );
    expect(list?.Catch).toEqual([
      expect.objectContaining({
        ErrorEquals: ['States.ALL'],
        ResultPath: '$.error',
        Next: 'AccountNotListed',
      }),
    ]);
    expect(map?.ItemProcessor?.States.AccountNotListed).toMatchObject({
      Type: 'Pass',
      Parameters: { 'accountId.$': '$.accountId', 'error.$': '$.error.Error' },
      End: true,
    });
  });

  it('writes the manifest of the due users, and skips the Map when nobody is due', () => {
    expect(fleet.States.WriteManifest).toMatchObject({
      Resource: lambda('writeFleetManifest'),
      Parameters: { 'execution.$': '$$.Execution.Id', 'listed.$': '$.listed' },
      ResultPath: '$.manifest',
      Next: 'AnyDue',
    });
    expect(fleet.States.AnyDue).toMatchObject({
      Choices: [{ Variable: '$.manifest.due', NumericEquals: 0, Next: 'NoneDue' }],
      Default: 'RotateDueUsers',
    });
    expect(fleet.States.NoneDue).toMatchObject({
      Type: 'Pass',
      Result: {},
      ResultPath: '$.results',
      Next: 'Summarize',
    });
  });

  it('rotates the due users with a Distributed Map read from S3: the input’s concurrency, every failure tolerated, the results to S3', () => {
    const map = fleet.States.RotateDueUsers;
    expect(map).toMatchObject({
      Type: 'Map',
      ItemReader: {
        Resource: 'arn:aws:states:::s3:getObject',
        ReaderConfig: { ManifestType: 'ATHENA_DATA', InputType: 'JSONL' },
        Parameters: { 'Bucket.$': '$.bucket', 'Key.$': '$.manifest.manifestKey' },
      },
      ItemSelector: {
        'user.$': '$$.Map.Item.Value',
        'dryRun.$': '$.dryRun',
        'userDefaults.$': '$.userDefaults',
      },
      MaxConcurrencyPath: '$.maxConcurrency',
      ToleratedFailurePercentage: 100,
      Label: 'RotateDueUsers',
      ResultWriter: {
        Resource: 'arn:aws:states:::s3:putObject',
        Parameters: { 'Bucket.$': '$.bucket', 'Prefix.$': '$.resultsPrefix' },
      },
      ResultPath: '$.results',
      Next: 'Summarize',
    });
    expect(map?.ItemProcessor?.ProcessorConfig).toEqual({ Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' });
    expect(map?.Catch?.map((c) => [c.ErrorEquals, c.Next])).toEqual([
      [['States.ItemReaderFailed'], 'DueUsersUnread'],
      [['States.ResultWriterFailed'], 'ResultsUnwritten'],
      [['States.ALL'], 'MapRunFailed'],
    ]);
    for (const fail of ['DueUsersUnread', 'ResultsUnwritten', 'MapRunFailed']) {
      expect(fleet.States[fail], fail).toMatchObject({
        Type: 'Fail',
        ErrorPath: '$.Error',
        CausePath: '$.Cause',
      });
    }
  });

  it('starts each user’s rotation from its child workflow, as the inline Map did', () => {
    const map = fleet.States.RotateDueUsers;
    expect(map?.ItemProcessor?.StartAt).toBe('StartRotation');
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

  it('ends FleetRotationIncomplete, with the summary’s cause, when any user failed or any account was not listed', () => {
    expect(fleet.States.Summarize).toMatchObject({
      Resource: lambda('summarizeFleet'),
      Parameters: {
        'execution.$': '$$.Execution.Id',
        'fleetStartedAt.$': '$$.Execution.StartTime',
        'dryRun.$': '$.dryRun',
        'listed.$': '$.listed',
        'due.$': '$.manifest.due',
        'results.$': '$.results',
      },
      Next: 'AnyFailed',
    });
    expect(fleet.States.Summarize?.Catch?.map((c) => [c.ErrorEquals, c.Next])).toEqual([
      [['States.ALL'], 'SummaryUnavailable'],
    ]);
    expect(fleet.States.AnyFailed?.Choices).toEqual([
      { Variable: '$.failureCause', IsPresent: true, Next: 'FleetRotationIncomplete' },
    ]);
    expect(fleet.States.FleetRotationIncomplete).toMatchObject({
      Type: 'Fail',
      Error: 'FleetRotationIncomplete',
      CausePath: '$.failureCause',
    });
  });

  it('bounds every Task in time, retries Lambda’s transient errors, and explains every Fail', () => {
    for (const [name, state] of everyState(fleet.States)) {
      if (state.Type === 'Task') {
        expect(state.TimeoutSeconds, name).toBeGreaterThan(0);
        expect(state.Retry?.length, name).toBeGreaterThan(0);
      }
      if (state.Type === 'Fail') expect(state.Comment, name).toBeTruthy();
    }
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
