import { parseArgs } from 'node:util';
import { DescribeExecutionCommand, StopExecutionCommand } from '@aws-sdk/client-sfn';
import { callAws } from './aws-call.js';
import { afterStop } from './error-table.js';
import { namedExecution } from './executions.js';
import { fullHistory } from './follow.js';
import { statesOf } from './progress.js';
import { CONNECTION_HELP, CONNECTION_OPTIONS } from './sfn.js';

const HELP = `usage: iam-key-rotator stop <execution-arn|user> [--reason R] [--json]

Stops a running execution (a user's latest, found as history finds it). Nothing is undone: it
prints what the execution leaves behind where it stopped, and what to do.

options:
  --reason R             recorded as the stop's cause (error: StoppedByOperator)
  --json                 one JSON document: executionArn, stopDate, states, leftBehind
  --iam-endpoint URL     IAM endpoint, to find a user's execution (default: the SDK's)
${CONNECTION_HELP}

exit code: 0 stopped (or had already ended), 1 the user's claim tag names no rotation of that user
(said, nothing stopped), 2 bad usage, 3 a call failed.`;

export const STOP_ERROR = 'StoppedByOperator';

/** `iam-key-rotator stop`. */
export async function runStop(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ...CONNECTION_OPTIONS,
      reason: { type: 'string' },
      json: { type: 'boolean', default: false },
      'iam-endpoint': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const named = await namedExecution('stop', positionals, values);
  if (!named) return 1;
  const { sfn, executionArn } = named;
  const before = await callAws('states:DescribeExecution', executionArn, () =>
    sfn.send(new DescribeExecutionCommand({ executionArn })),
  );
  if (before.status !== 'RUNNING') {
    process.stdout.write(
      values.json
        ? `${JSON.stringify({ executionArn, status: before.status, stopDate: before.stopDate })}\n`
        : `${executionArn} already ended: ${before.status ?? 'UNKNOWN'}\n`,
    );
    return 0;
  }
  const stopped = await callAws('states:StopExecution', executionArn, () =>
    sfn.send(
      new StopExecutionCommand({
        executionArn,
        error: STOP_ERROR,
        cause: values.reason ?? 'stopped with iam-key-rotator stop',
      }),
    ),
  );
  const states = statesOf(await fullHistory(sfn, executionArn));
  const leftBehind = afterStop(states);
  process.stdout.write(
    values.json
      ? `${JSON.stringify({ executionArn, stopDate: stopped.stopDate, states, leftBehind }, null, 2)}\n`
      : `Stopped ${executionArn} in ${states.at(-1) ?? '(no state)'}\n  left behind:  ${leftBehind}\n`,
  );
  return 0;
}
