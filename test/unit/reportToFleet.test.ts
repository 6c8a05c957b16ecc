import { SendTaskFailureCommand, SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it, vi } from 'vitest';
import { EXECUTION, rejectionOf, resetBeforeEach, sdkError, useHandler } from './support.js';

const { handler } = useHandler<{ reported: boolean }>(() => import('../../functions/reportToFleet.js'));
const sfn = resetBeforeEach(mockClient(SFNClient), (mock) => {
  mock.on(SendTaskSuccessCommand).resolves({});
  mock.on(SendTaskFailureCommand).resolves({});
});

const TOKEN = 'AAAAfleetTaskTokenThatMustNotBeLogged0123456789';

const ended = (status: string, input: unknown, error?: string) => ({
  'detail-type': 'Step Functions Execution Status Change',
  detail: {
    executionArn: EXECUTION,
    status,
    input: JSON.stringify(input),
    error: error ?? null,
    cause: error ? 'why' : null,
  },
});

describe('reportToFleet', () => {
  it('answers the fleet with the execution’s error name, or its success', async () => {
    const member = { userName: 'alice', fleetTaskToken: TOKEN };
    expect(await handler(ended('FAILED', member, 'VerificationFailed'))).toEqual({ reported: true });
    expect(sfn.commandCalls(SendTaskFailureCommand)[0]?.args[0].input).toEqual({
      taskToken: TOKEN,
      error: 'VerificationFailed',
      cause: `${EXECUTION}: why`,
    });
    await handler(ended('ABORTED', member));
    expect(sfn.commandCalls(SendTaskFailureCommand)[1]?.args[0].input.error).toBe('States.Aborted');
    await handler(ended('SUCCEEDED', member));
    // No accountId in the input: the account of the execution, as ValidateInput defaults it.
    expect(sfn.commandCalls(SendTaskSuccessCommand)[0]?.args[0].input.output).toBe(
      JSON.stringify({ userName: 'alice', accountId: EXECUTION.split(':')[4], outcome: 'rotated' }),
    );
  });

  it('answers a dry run that succeeded as planned, not rotated', async () => {
    await handler(ended('SUCCEEDED', { userName: 'alice', fleetTaskToken: TOKEN, dryRun: true }));
    expect(sfn.commandCalls(SendTaskSuccessCommand)[0]?.args[0].input.output).toBe(
      JSON.stringify({ userName: 'alice', accountId: EXECUTION.split(':')[4], outcome: 'planned' }),
    );
  });

  it('names the user and account it answers for, as the child’s own signal does', async () => {
    await handler(
      ended('SUCCEEDED', { userName: 'alice', accountId: '222222222222', fleetTaskToken: TOKEN }),
    );
    expect(sfn.commandCalls(SendTaskSuccessCommand)[0]?.args[0].input.output).toBe(
      JSON.stringify({ userName: 'alice', accountId: '222222222222', outcome: 'rotated' }),
    );
  });

  it('does nothing for an execution no fleet started', async () => {
    expect(await handler(ended('FAILED', { userName: 'alice' }, 'X'))).toEqual({ reported: false });
    expect(sfn.calls()).toHaveLength(0);
  });

  it.each(['TaskTimedOut', 'TaskDoesNotExist', 'InvalidToken'])(
    'takes %s (answered already, or the fleet no longer waits) as done, and never logs the token',
    async (code) => {
      sfn.on(SendTaskSuccessCommand).rejects(sdkError(code, 400));
      const log = vi.spyOn(process.stdout, 'write');
      try {
        expect(await handler(ended('SUCCEEDED', { userName: 'alice', fleetTaskToken: TOKEN }))).toEqual({
          reported: false,
        });
        expect(log.mock.calls.map((c) => String(c[0])).join('')).not.toContain(TOKEN);
      } finally {
        log.mockRestore();
      }
    },
  );

  it('fails (so the event is retried) when Step Functions refuses for another reason', async () => {
    sfn.on(SendTaskFailureCommand).rejects(sdkError('ThrottlingException', 400));
    const error = await rejectionOf(handler(ended('FAILED', { userName: 'a', fleetTaskToken: TOKEN }, 'E')));
    expect(error.name).toBe('AwsUnavailableError');
    expect(error.message).not.toContain(TOKEN);
  });
});
