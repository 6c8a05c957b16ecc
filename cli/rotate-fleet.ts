import { redactDeep } from '../functions/commons/redact.js';
import { readFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { type DescribeExecutionOutput, DescribeMapRunCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { FleetInput } from '../functions/commons/fleet-input.js';
import { follow } from './follow.js';
import { AwsCallError, callAws } from './aws-call.js';
import { FleetProgress, fleetSummaryText, liveLine } from './fleet-view.js';
import { startExecution } from './rotate.js';
import {
  CONNECTION_OPTIONS,
  consoleLink,
  sfnClient,
  stateMachineNamed,
  UsageError,
  wholeNumber,
} from './sfn.js';

const HELP = `usage: iam-key-rotator rotate-fleet [options]

Starts the fleet machine: every user under the deployment's IAM path that is opted in (tag
iam-key-rotator:rotate=true, or --tag, or --all-users) and whose oldest Active key is older than
--max-key-age-days gets a rotation of its own, in the deployment's own account unless --accounts
or --allowed-accounts says which.

options:
  --max-key-age-days D    due when the oldest Active key is older than D days (default 90)
  --max-concurrency N     rotations between their start and their stored, verified key (default 5)
  --max-due-per-account N due users rotated per account in this run, oldest keys first; the rest are
                          deferred to the next run (default and most: the deployment's maxDuePerAccount)
  --tag KEY=VALUE         opt-in tag (default iam-key-rotator:rotate=true)
  --all-users             every user under the path, tagged or not
  --dry-run               each child plans its rotation and changes nothing
  --accounts ID[,ID...]   the accounts whose users are listed (each own or allowed by the deployment)
  --allowed-accounts      every account the deployment may rotate in: its own and allowedAccountIds
  --input FILE|-          the fleet input as JSON; the options above override it
  --wait                  follow the fleet: one live line (the accounts listed, then the Map Run's
                          child workflows from DescribeMapRun: succeeded, failed, running, pending),
                          then the summary by account (counts, the users it names, the deferred
                          count) and where the full summary is (s3://bucket/key)
  --json                  with --wait: {status, executionArn, error, mapRun: {mapRunArn, itemCounts as
                          DescribeMapRun answers}, summary}; else the started execution, as JSON
  --poll-ms N             how often --wait reads the history and the Map Run (default 1000)
connection (credentials and region from the SDK's default chain):
  --endpoint URL             Step Functions endpoint (default: AWS_ENDPOINT_URL_SFN, else AWS's)
  --state-machine-arn ARN    the fleet machine (default: ROTATOR_FLEET_STATE_MACHINE_ARN)
  --stage STAGE              or find the state machine named iam-key-rotator-fleet-<stage>

The input is checked with planFleet's own schema before any call: bad input exits 2. --wait also
needs states:DescribeMapRun on the fleet's Map Runs (without it the line shows the listing only).
exit code: 0 started (with --wait: SUCCEEDED), 1 the fleet FAILED (FleetRotationIncomplete names the
users, and the accounts that could not be listed), 2 bad usage or input, 3 a Step Functions call failed.`;

function readInput(source: string): Record<string, unknown> {
  try {
    const parsed = JSON.parse(readFileSync(source === '-' ? 0 : source, 'utf8')) as unknown;
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
      return parsed as Record<string, unknown>;
    }
  } catch (error) {
    throw new UsageError(`--input ${source}: ${error instanceof Error ? error.message : String(error)}`);
  }
  throw new UsageError(`--input ${source} must hold a JSON object`);
}

/** The fleet input from the options, checked with the schema planFleet uses. */
export function buildFleetInput(values: Record<string, unknown>): Record<string, unknown> {
  const input = typeof values.input === 'string' ? readInput(values.input) : {};
  if (typeof values['max-key-age-days'] === 'string')
    input.maxKeyAgeDays = wholeNumber(values['max-key-age-days'], '--max-key-age-days');
  if (typeof values['max-concurrency'] === 'string')
    input.maxConcurrency = wholeNumber(values['max-concurrency'], '--max-concurrency');
  if (typeof values['max-due-per-account'] === 'string')
    input.maxDuePerAccount = wholeNumber(values['max-due-per-account'], '--max-due-per-account');
  if (typeof values.tag === 'string') {
    const [key, ...value] = values.tag.split('=');
    if (!key || value.length === 0) throw new UsageError('--tag must be KEY=VALUE');
    input.tagKey = key;
    input.tagValue = value.join('=');
  }
  if (values['all-users'] === true) input.allUsersInPath = true;
  if (values['dry-run'] === true) input.dryRun = true;
  if (typeof values.accounts === 'string')
    input.accountIds = values.accounts.split(',').map((id) => id.trim());
  if (values['allowed-accounts'] === true) input.allowedAccounts = true;
  const checked = FleetInput.safeParse(input);
  if (!checked.success) {
    const problems = checked.error.issues.map((i) => `${i.path.join('.') || 'input'}: ${i.message}`);
    throw new UsageError(`bad fleet input: ${problems.join('; ')}`);
  }
  return input;
}

/** Pauses `ms`, or less when `signal` aborts. */
const pause = (ms: number, signal: AbortSignal): Promise<void> =>
  delay(ms, undefined, { signal }).catch(() => undefined);

/**
 * Reads the fleet's Map Run (DescribeMapRun) every `pollMs` while its parent is followed: the child
 * workflows are not in the parent's history. Throttled reads wait for the next poll; a refused one
 * (no states:DescribeMapRun) is said once, and the line shows the listing only.
 */
async function watchMapRun(
  client: SFNClient,
  progress: FleetProgress,
  options: { pollMs: number; signal: AbortSignal; onChange(): void; warn(line: string): void },
): Promise<void> {
  // The Map Run whose end the history showed and that was read since: its counts are final.
  let finalRead: string | undefined;
  while (!options.signal.aborted) {
    await pause(options.pollMs, options.signal);
    const mapRunArn = progress.mapRunArn;
    if (mapRunArn === undefined || finalRead === mapRunArn) continue;
    const ended = progress.mapRunEnded;
    try {
      progress.mapRun(
        await callAws('states:DescribeMapRun', mapRunArn, () =>
          client.send(new DescribeMapRunCommand({ mapRunArn })),
        ),
      );
      if (ended) finalRead = mapRunArn;
      options.onChange();
    } catch (error) {
      if (error instanceof AwsCallError && error.code === 'ThrottlingException') continue;
      options.warn(error instanceof Error ? error.message : String(error));
      return;
    }
  }
}

/**
 * Follows a fleet execution to its end: one live line on stderr (the accounts' listing from the
 * parent's history, then the Map Run's child workflows from DescribeMapRun), then the summary grouped
 * by account (or, with `json`, the summary as JSON) on stdout. Returns the exit code; undefined
 * when interrupted.
 */
export async function followFleet(
  client: SFNClient,
  executionArn: string,
  options: { pollMs: number; json: boolean; signal?: AbortSignal },
): Promise<number | undefined> {
  const progress = new FleetProgress();
  const live = liveLine(process.stderr);
  const update = () => live.update(progress.line());
  const stopWatching = new AbortController();
  const watcher = watchMapRun(client, progress, {
    pollMs: options.pollMs,
    signal: stopWatching.signal,
    onChange: update,
    warn: (line) => process.stderr.write(`\n${line}: the line shows the listing only\n`),
  });
  let execution: DescribeExecutionOutput | undefined;
  try {
    execution = await follow(client, executionArn, {
      pollMs: options.pollMs,
      ...(options.signal ? { signal: options.signal } : {}),
      onEvent: (event) => {
        progress.add(event);
        update();
      },
    });
  } finally {
    stopWatching.abort();
    await watcher;
  }
  if (execution && progress.mapRunArn !== undefined) await finalCounts(client, progress);
  update();
  live.end();
  if (!execution) return undefined;
  const { summary } = progress;
  if (options.json) {
    const mapRun = progress.mapRunArn
      ? { mapRunArn: progress.mapRunArn, itemCounts: progress.itemCounts ?? null }
      : null;
    process.stdout.write(
      `${JSON.stringify(redactDeep({ status: execution.status, executionArn, error: execution.error ?? null, mapRun, summary: summary ?? null }), null, 2)}\n`,
    );
  } else {
    if (summary) process.stdout.write(`${fleetSummaryText(summary)}\n`);
    if (execution.status !== 'SUCCEEDED') {
      process.stdout.write(
        `fleet ${execution.status}: ${execution.error ?? ''}: ${String(redactDeep(execution.cause ?? '', 'cause'))}\n`,
      );
    }
  }
  return execution.status === 'SUCCEEDED' ? 0 : 1;
}

/** The Map Run's counts once the fleet ended; the line keeps the last ones read if this read fails. */
async function finalCounts(client: SFNClient, progress: FleetProgress): Promise<void> {
  const mapRunArn = progress.mapRunArn ?? '';
  try {
    progress.mapRun(await client.send(new DescribeMapRunCommand({ mapRunArn })));
  } catch {
    // Already said by the watcher, or throttled: the counts read last stay.
  }
}

/** The fleet machine: --state-machine-arn, ROTATOR_FLEET_STATE_MACHINE_ARN, or iam-key-rotator-fleet-<stage>. */
async function fleetMachineArn(
  client: SFNClient,
  values: { 'state-machine-arn'?: string | undefined; stage?: string | undefined },
): Promise<string> {
  const given = values['state-machine-arn'] ?? process.env.ROTATOR_FLEET_STATE_MACHINE_ARN;
  if (given) return given;
  if (!values.stage) {
    throw new UsageError(
      'which fleet machine? give --state-machine-arn, ROTATOR_FLEET_STATE_MACHINE_ARN or --stage',
    );
  }
  return stateMachineNamed(client, `iam-key-rotator-fleet-${values.stage}`);
}

/** `iam-key-rotator rotate-fleet`. */
export async function runRotateFleet(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      ...CONNECTION_OPTIONS,
      'max-key-age-days': { type: 'string' },
      'max-concurrency': { type: 'string' },
      'max-due-per-account': { type: 'string' },
      tag: { type: 'string' },
      'all-users': { type: 'boolean' },
      'dry-run': { type: 'boolean' },
      accounts: { type: 'string' },
      'allowed-accounts': { type: 'boolean' },
      input: { type: 'string' },
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
  const input = buildFleetInput(values);
  const pollMs = wholeNumber(values['poll-ms'], '--poll-ms', 1);
  const client = sfnClient(values);
  const machineArn = await fleetMachineArn(client, values);
  const name = `fleet-${new Date().toISOString().replace(/[-:]|\.\d{3}/g, '')}`;
  const started = await startExecution(client, machineArn, input, name);
  const executionArn = started.executionArn ?? '';
  if (!values.wait) {
    process.stdout.write(
      values.json
        ? `${JSON.stringify({ status: 'RUNNING', executionArn })}\n`
        : `${executionArn}\n${consoleLink(executionArn)}\n`,
    );
    return 0;
  }
  process.stderr.write(
    `iam-key-rotator: fleet rotation ${executionArn}\n  console: ${consoleLink(executionArn)}\n`,
  );
  const interrupt = new AbortController();
  const onSigint = () => interrupt.abort();
  process.once('SIGINT', onSigint);
  try {
    const code = await followFleet(client, executionArn, {
      pollMs,
      json: values.json,
      signal: interrupt.signal,
    });
    if (code === undefined) {
      process.stderr.write(`stopped following; the fleet goes on: iam-key-rotator history ${executionArn}\n`);
      return 130;
    }
    return code;
  } finally {
    process.off('SIGINT', onSigint);
  }
}
