import { parseArgs } from 'node:util';
import { DescribeExecutionCommand } from '@aws-sdk/client-sfn';
import { callAws } from './aws-call.js';
import { namedExecution } from './executions.js';
import { fullHistory } from './follow.js';
import { Progress } from './progress.js';
import { followToEnd, report } from './rotate.js';
import { CONNECTION_HELP, CONNECTION_OPTIONS } from './sfn.js';

const HELP = `usage: iam-key-rotator history <execution-arn|user> [--json] [--follow]

The states of one execution (a user's latest: from the claim tag the rotator writes on the user,
else the newest recent execution whose input names the user), with errors, retries and catches,
then the outcome and, for a failure, what it left behind.

options:
  --json                 one JSON document: status, error, executionArn, states, history, durationMs
  --follow               follow a running execution to its end (as rotate --wait)
  --poll-ms N            how often --follow reads the history (default 1000)
  --iam-endpoint URL     IAM endpoint, to find a user's execution (default: the SDK's)
${CONNECTION_HELP}

exit code: 0 SUCCEEDED or RUNNING, 1 FAILED, TIMED_OUT or ABORTED, or the user's claim tag names no
rotation of that user (said, not followed), 2 bad usage, 3 a call failed.`;

/** `iam-key-rotator history`. */
export async function runHistory(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ...CONNECTION_OPTIONS,
      json: { type: 'boolean', default: false },
      follow: { type: 'boolean', default: false },
      'poll-ms': { type: 'string', default: '1000' },
      'iam-endpoint': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const named = await namedExecution('history', positionals, values);
  if (!named) return 1;
  const { sfn, executionArn } = named;
  const err = (line: string) => process.stderr.write(`${line}\n`);
  if (values.follow) {
    const followed = await followToEnd(executionArn, sfn, Number(values['poll-ms']), err);
    if (!followed) return 130;
    return report(followed.execution, followed.history, values.json);
  }
  const execution = await callAws('states:DescribeExecution', executionArn, () =>
    sfn.send(new DescribeExecutionCommand({ executionArn })),
  );
  const history = await fullHistory(sfn, executionArn);
  if (!values.json) {
    const progress = new Progress((line) => process.stdout.write(`${line}\n`));
    for (const event of history) progress.add(event);
  }
  const code = report(execution, history, values.json);
  return execution.status === 'RUNNING' ? 0 : code;
}
