import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  type DescribeExecutionOutput,
  type HistoryEvent,
  ListTagsForResourceCommand,
  type SFNClient,
  StartExecutionCommand,
  type StartExecutionOutput,
} from '@aws-sdk/client-sfn';
import { floorsFromTags } from '../functions/commons/floor-tags.js';
import { belowFloors, ExecutionInput, type Floors } from '../functions/commons/input.js';
import { callAws } from './aws-call.js';
import { follow } from './follow.js';
import { outcomeDocument, outcomeSummary } from './outcome.js';
import { Progress } from './progress.js';
import {
  CONNECTION_HELP,
  CONNECTION_OPTIONS,
  consoleLink,
  sfnClient,
  stateMachineArn,
  UsageError,
  wholeNumber,
} from './sfn.js';

const HELP = `usage: iam-key-rotator rotate <user> [options]

Starts one rotation of <user>'s access key: an execution of the rotator's state machine.

options:
  --account ID           the AWS account <user> is in (default: the deployment's own; another one
                         must be among its allowedAccountIds, where the steps assume its target role)
  --dry-run              plan only: report what would change, change nothing
  --vault-path P         where Vault serves the user's key (default: the deployment's prefix + user)
  --adopt-vault-path     serve a user never pinned at --vault-path although it serves none of the
                         user's Active keys today: you vouch its consumers read there (adoptVaultPath;
                         refused, exit 2, unless the deployment allows it: allowVaultPathAdopt)
  --grace S              seconds between storing the new key and deactivating the old one
  --recovery S           seconds between deactivating and deleting the old key
  --input FILE|-         execution input as JSON (a file, or - for stdin); the options above override it
  --name N               the execution name (default: <user>-<UTC time>); reusing it with the same
                         input while the execution runs gives the same execution back
  --wait                 follow the execution to its end (Ctrl-C stops following, not the execution)
  --json                 print one JSON document on stdout
  --poll-ms N            how often --wait reads the history (default 1000)
${CONNECTION_HELP}

The input is checked with the Lambda's own schema, then with the floors the deployment publishes as
its state machine's tags, before StartExecution: bad input exits 2.
exit code: 0 started (with --wait: SUCCEEDED), 1 FAILED, TIMED_OUT or ABORTED, 2 bad usage or input,
3 a Step Functions call failed (the message names a denied action), 130 interrupted while following.`;

const wholeSeconds = (value: string, option: string): number => {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n))
    throw new UsageError(`${option} must be whole seconds, not '${value}'`);
  return n;
};

function readInput(source: string): Record<string, unknown> {
  const text = source === '-' ? readFileSync(0, 'utf8') : readFileSync(source, 'utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new UsageError(
      `--input ${source} is not JSON: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new UsageError(`--input ${source} must hold a JSON object`);
  }
  return parsed as Record<string, unknown>;
}

/** The execution input from the options, checked with the schema validateInput uses. */
export function buildInput(
  user: string | undefined,
  values: Record<string, unknown>,
): Record<string, unknown> {
  const input: Record<string, unknown> = typeof values.input === 'string' ? readInput(values.input) : {};
  if (user !== undefined) input.userName = user;
  if (typeof values.account === 'string') input.accountId = values.account;
  if (values['dry-run'] === true) input.dryRun = true;
  if (typeof values['vault-path'] === 'string') input.vaultPath = values['vault-path'];
  if (values['adopt-vault-path'] === true) input.adoptVaultPath = true;
  if (typeof values.grace === 'string') input.graceSeconds = wholeSeconds(values.grace, '--grace');
  if (typeof values.recovery === 'string')
    input.recoverySeconds = wholeSeconds(values.recovery, '--recovery');
  return checkInput(input);
}

/** Checks an execution input with the schema validateInput uses; bad input is a UsageError (exit 2). */
export function checkInput<T extends Record<string, unknown>>(input: T): T {
  const checked = ExecutionInput.safeParse(input);
  if (!checked.success) {
    const problems = checked.error.issues.map((i) => `${i.path.join('.') || 'input'}: ${i.message}`);
    throw new UsageError(`bad execution input: ${problems.join('; ')}`);
  }
  return input;
}

/** Floors that refuse nothing: what the CLI assumes of a floor the deployment does not publish. */
const OPEN_FLOORS: Floors = {
  minGraceSeconds: 0,
  minRecoverySeconds: 0,
  allowOldKeyInUseProceed: true,
  allowVaultPathMove: true,
  allowVaultPathAdopt: true,
  allowDeleteInactiveKey: true,
};

/**
 * Checks a (schema-checked) input against the floors the deployment publishes as its state machine's
 * tags, with ValidateInput's messages: below them is a UsageError (exit 2). An unpublished floor is left
 * to the state machine, which checks every floor anyway.
 */
export async function checkFloors(
  client: SFNClient,
  machineArn: string,
  input: Record<string, unknown>,
  warn: (line: string) => void,
): Promise<void> {
  const { tags = [] } = await callAws('states:ListTagsForResource', machineArn, () =>
    client.send(new ListTagsForResourceCommand({ resourceArn: machineArn })),
  );
  const published = floorsFromTags(tags);
  const unknown = Object.keys(OPEN_FLOORS).filter((name) => !(name in published));
  if (unknown.length > 0) {
    warn(
      `iam-key-rotator: the deployment publishes no floors (${unknown.join(', ')}); the state machine will check them`,
    );
  }
  const below = belowFloors(ExecutionInput.parse(input), { ...OPEN_FLOORS, ...published });
  if (below.length > 0) throw new UsageError(`invalid execution input: ${below.join('; ')}`);
}

/** A default execution name: the user (characters Step Functions refuses replaced) and the time. */
export function executionName(user: string, now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]|\.\d{3}/g, '');
  return `${user.replace(/[^\w.@+=-]/g, '_').slice(0, 60)}-${stamp}`;
}

/** `iam-key-rotator rotate`. */
export async function runRotate(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ...CONNECTION_OPTIONS,
      account: { type: 'string' },
      'dry-run': { type: 'boolean' },
      'vault-path': { type: 'string' },
      'adopt-vault-path': { type: 'boolean' },
      grace: { type: 'string' },
      recovery: { type: 'string' },
      input: { type: 'string' },
      name: { type: 'string' },
      wait: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      'poll-ms': { type: 'string', default: '1000' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  if (positionals.length > 1) throw new UsageError('rotate takes one user');
  const input = buildInput(positionals[0], values);
  const user = String(input.userName);
  const pollMs = wholeNumber(values['poll-ms'], '--poll-ms', 1);

  const client = sfnClient(values);
  const machineArn = await stateMachineArn(client, values);
  const err = (line: string) => process.stderr.write(`${line}\n`);
  await checkFloors(client, machineArn, input, err);
  const started = await startExecution(client, machineArn, input, values.name ?? executionName(user));
  const executionArn = started.executionArn ?? '';
  if (!values.wait) {
    process.stdout.write(
      values.json
        ? `${JSON.stringify({ status: 'RUNNING', executionArn, startDate: started.startDate })}\n`
        : `${executionArn}\n${consoleLink(executionArn)}\n`,
    );
    return 0;
  }
  const account = typeof input.accountId === 'string' ? ` in account ${input.accountId}` : '';
  err(`iam-key-rotator: rotating ${user}${account}: ${executionArn}`);
  err(`  console: ${consoleLink(executionArn)}`);
  const described = await followToEnd(executionArn, client, pollMs, err);
  if (!described) return 130;
  return report(described.execution, described.history, values.json);
}

/** StartExecution of the rotator (with a checked input, but for `npm start -- --input`'s raw one). */
export function startExecution(
  client: SFNClient,
  machineArn: string,
  input: unknown,
  name: string,
): Promise<StartExecutionOutput> {
  return callAws('states:StartExecution', machineArn, () =>
    client.send(
      new StartExecutionCommand({ stateMachineArn: machineArn, name, input: JSON.stringify(input) }),
    ),
  );
}

/** Follows with the progress view on stderr; Ctrl-C stops following and says how to follow again. */
export async function followToEnd(
  executionArn: string,
  client: SFNClient,
  pollMs: number,
  err: (line: string) => void,
): Promise<{ execution: DescribeExecutionOutput; history: HistoryEvent[] } | undefined> {
  const progress = new Progress(err);
  const history: HistoryEvent[] = [];
  const interrupt = new AbortController();
  const onSigint = () => interrupt.abort();
  process.once('SIGINT', onSigint);
  try {
    const execution = await follow(client, executionArn, {
      pollMs,
      signal: interrupt.signal,
      onEvent: (event) => {
        history.push(event);
        progress.add(event);
      },
    });
    if (!execution) {
      err(
        `stopped following; the execution goes on. Follow it again: iam-key-rotator history ${executionArn} --follow`,
      );
      return undefined;
    }
    return { execution, history };
  } finally {
    process.off('SIGINT', onSigint);
  }
}

/** Prints the summary (or the JSON document) and returns the exit code of the execution's status. */
export function report(execution: DescribeExecutionOutput, history: HistoryEvent[], json: boolean): number {
  process.stdout.write(
    json
      ? `${JSON.stringify(outcomeDocument(execution, history), null, 2)}\n`
      : `${outcomeSummary(execution, history)}\n`,
  );
  return execution.status === 'SUCCEEDED' ? 0 : 1;
}
