import type { StateMachineDefinition } from 'aws-local-stepfunctions';
import { describe, expect, it } from 'vitest';
import { aslMachine } from '../../local-stack/sfn/index.js';
import { copyJsonMergeTargets } from '../../local-stack/sfn/intrinsics.js';
import { StepFunctions } from '../../local-stack/sfn/service.js';

const WORK = 'arn:aws:lambda:us-east-1:123456789012:function:work';

describe('States.JsonMerge on the local runner', () => {
  it('changes nothing in the state input: a retried Task and its Catch see the input as it was', async () => {
    const sfn = new StepFunctions({ partition: 'aws', region: 'us-east-1', accountId: '123456789012' });
    const seen: unknown[] = [];
    const definition = {
      StartAt: 'Work',
      States: {
        Work: {
          Type: 'Task',
          Resource: WORK,
          Parameters: {
            'merged.$': 'States.JsonMerge($.defaults, States.StringToJson(\'{"b":2}\'), false)',
          },
          Retry: [{ ErrorEquals: ['Busy'], MaxAttempts: 1 }],
          Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'Caught' }],
          End: true,
        },
        Caught: { Type: 'Pass', End: true },
      },
    } as unknown as StateMachineDefinition;
    const machine = sfn.machines.register(
      aslMachine({
        name: 'merge',
        definition,
        roleArn: 'arn:aws:iam::123456789012:role/merge',
        sfn,
        retryPauseMs: 0,
        lambdas: {
          [WORK]: async (event) => {
            seen.push(event);
            throw Object.assign(new Error('busy'), { name: 'Busy' });
          },
        },
      }),
    );
    const execution = sfn.executions.start(sfn.machines.get(machine), 'merge-once', '{"defaults":{"a":1}}');
    await execution.settled;

    expect(seen).toEqual([{ merged: { a: 1, b: 2 } }, { merged: { a: 1, b: 2 } }]);
    expect(execution.status).toBe('SUCCEEDED');
    expect(JSON.parse(execution.output ?? 'null')).toEqual({
      defaults: { a: 1 },
      error: { Error: 'Busy', Cause: expect.stringContaining('busy') },
    });
  });

  it('merges into a copy of a path given first, whatever the other arguments quote or nest', () => {
    const merge = (expression: string) =>
      (
        copyJsonMergeTargets({
          StartAt: 'P',
          States: { P: { Type: 'Pass', Parameters: { 'x.$': expression }, End: true } },
        } as unknown as StateMachineDefinition) as unknown as {
          States: { P: { Parameters: { 'x.$': string } } };
        }
      ).States.P.Parameters['x.$'];

    expect(merge('States.JsonMerge($.a, States.StringToJson(\'{"k":"x,)\\\'y"}\'), false)')).toBe(
      'States.JsonMerge(States.StringToJson(States.JsonToString($.a)), States.StringToJson(\'{"k":"x,)\\\'y"}\'), false)',
    );
    expect(merge('States.JsonMerge(States.JsonMerge($.a, $.b, false), $.c, false)')).toBe(
      'States.JsonMerge(States.JsonMerge(States.StringToJson(States.JsonToString($.a)), $.b, false), $.c, false)',
    );
    const untouched = { StartAt: 'P', States: { P: { Type: 'Pass', End: true } } } as StateMachineDefinition;
    expect(copyJsonMergeTargets(untouched)).toBe(untouched);
  });
});
