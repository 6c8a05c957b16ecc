import { parseArgs } from 'node:util';
import {
  DescribeExecutionCommand,
  type DescribeExecutionOutput,
  DescribeMapRunCommand,
  type DescribeMapRunOutput,
  type HistoryEvent,
  ListExecutionsCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { fleetAccountIds, type FleetSeed, MAX_FLEET_ACCOUNTS, seedFleetUsers } from '../cli/fleet-seed.js';
import { fullHistory } from '../cli/follow.js';
import type { FleetSummary } from '../functions/commons/fleet-summary.js';
import { localTarget } from '../local-stack/provision.js';
import { prepareTarget } from '../local-stack/rotation.js';
import type { Execution } from '../local-stack/sfn/executions.js';
import { type LocalStack, startLocalStack } from '../local-stack/stack.js';
import { type RotationRun, userViolations } from './fleet-invariants.js';
import { PRICES } from './prices.js';

const HELP = `usage: iam-key-rotator bench --fleet N [--accounts K] [--max-concurrency C] [--wait-scale S]
                             [--iam-rate R] [--max-due-per-account M] [--json]

Seeds N users, all opted in, 9 in 10 due and 1 in 10 with a young key, spread over K emulated
accounts (default 1: the rotator's own, then K-1 member accounts with their target roles), and runs
the fleet machine over those accounts on the local stack with maxConcurrency C (default 40) and the
deployment's default waits (grace 900 s, recovery 86400 s) scaled by S (default 0.0001). IAM answers
Throttling past R calls/s per action in each account (a token bucket with a burst of R; default 20).
Reports the fleet's wall time (bounded by the active steps, not the waits), the time until every
rotation ended, rotations/s, the most rotations running at once, IAM's Throttling answers and the
step attempts they failed (each retried by the state machine), the calls per service, the stack's
peak RSS (this process: emulators, handlers and bench), the largest Lambda payload, the fleet's
Step Functions state transitions (the parent, the Map Run's child workflows, the rotations) and
their price (bench/prices.ts), and every user whose end state breaks a promise
(bench/fleet-invariants.ts: those of test/support/invariants.ts, one rotation per user, untouched
keys for users not rotated).`;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const whole = (value: string, option: string, min: number, max = Number.MAX_SAFE_INTEGER) => {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max)
    throw new Error(`--${option} must be a whole number from ${min} to ${max}`);
  return n;
};

/** State transitions Step Functions bills in one history: each state entered, and each retry. */
function transitions(history: HistoryEvent[]): { entered: number; retries: number } {
  let entered = 0;
  let taskEntered = 0;
  let attempts = 0;
  for (const event of history) {
    const type = event.type ?? '';
    if (type.endsWith('StateEntered')) entered += 1;
    if (type === 'TaskStateEntered') taskEntered += 1;
    if (type === 'LambdaFunctionScheduled' || type === 'TaskScheduled') attempts += 1;
  }
  // A Task's first attempt comes with its StateEntered; each further attempt is a retry.
  return { entered, retries: Math.max(0, attempts - taskEntered) };
}

interface Payload {
  bytes: number;
  fn: string;
  direction: 'input' | 'output';
}

/** The largest Lambda input and output in a history, with the function's name. */
function largestPayload(history: HistoryEvent[], largest: Payload): Payload {
  let fn = '';
  let best = largest;
  for (const event of history) {
    const scheduled = event.lambdaFunctionScheduledEventDetails;
    if (scheduled) {
      fn = scheduled.resource?.slice(scheduled.resource.lastIndexOf(':') + 1) ?? '';
      const bytes = Buffer.byteLength(scheduled.input ?? '');
      if (bytes > best.bytes) best = { bytes, fn, direction: 'input' };
    }
    const output = event.lambdaFunctionSucceededEventDetails?.output;
    // Parallel iterations interleave: the output is the function's last scheduled one's as a rule.
    if (output !== undefined && Buffer.byteLength(output) > best.bytes)
      best = { bytes: Buffer.byteLength(output), fn, direction: 'output' };
  }
  return best;
}

/** Step attempts that failed on IAM's Throttling (after the SDK's own retries): each was retried by a Retry. */
const throttledAttempts = (history: HistoryEvent[]) =>
  history.filter((e) => /Throttling/.test(e.lambdaFunctionFailedEventDetails?.cause ?? '')).length;

/** The Task state an execution entered last: where a failed one stopped. */
const lastTaskEntered = (history: HistoryEvent[]) =>
  history.findLast((e) => e.type === 'TaskStateEntered')?.stateEnteredEventDetails?.name ?? 'none';

/** The most spans open at once. */
function mostAtOnce(spans: [number, number][]): number {
  let running = 0;
  let most = 0;
  const edges = spans
    .flatMap(([a, b]) => [[a, 1] as const, [b, -1] as const])
    .sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  for (const [, change] of edges) most = Math.max(most, (running += change));
  return most;
}

/** Every execution of a state machine, as ListExecutions pages them. */
async function listAll(sfn: SFNClient, query: { stateMachineArn?: string; mapRunArn?: string }) {
  const arns: string[] = [];
  let nextToken: string | undefined;
  do {
    const page = await sfn.send(new ListExecutionsCommand({ ...query, maxResults: 1000, nextToken }));
    for (const e of page.executions ?? []) if (e.executionArn) arns.push(e.executionArn);
    nextToken = page.nextToken;
  } while (nextToken);
  return arns;
}

/** The execution as the stack holds it (its history without paging through 20,000 of them). */
const executionOf = (stack: LocalStack, arn: string): Execution =>
  stack.aws.stepFunctions.executions.get(arn);

/** What the bench reports (`--json`: this document). */
interface FleetBenchResult {
  users: number;
  accounts: number;
  maxConcurrency: number;
  waitScale: number;
  seedMs: number;
  fleetStatus: string | undefined;
  fleetError: string | null;
  fleetCause: string | null;
  counts: FleetSummary['counts'] | null;
  accountCounts: FleetSummary['accountCounts'] | null;
  fleetMs: number;
  allChildrenEndedMs: number;
  /** The rotations by status. */
  children: Record<string, number>;
  /** Rotations that did not succeed, by the last Task state entered and the error. */
  rotationFailures: Record<string, number>;
  rotatedPerSecond: number;
  mostChildrenRunningAtOnce: number;
  mapRun: {
    status: string | undefined;
    itemCounts: DescribeMapRunOutput['itemCounts'];
    mostChildWorkflowsAtOnce: number;
  } | null;
  scaledGraceMs: number;
  scaledRecoveryMs: number;
  iamRatePerSecond: number;
  iamThrottles: Record<string, number>;
  throttles: {
    seen: number;
    byAction: Record<string, number>;
    stepAttemptsRetried: number;
    unrecovered: number;
  };
  peakRssMb: number;
  largestLambdaPayload: Payload;
  stateTransitions: { parent: number; mapRunChildren: number; rotations: number; total: number };
  stepFunctionsCostUsd: {
    fleet: number;
    per1000Users: number;
    pricePerTransitionUsd: number;
    priceSource: string;
  };
  calls: Record<string, number>;
  invariantViolations: string[];
}

/** `iam-key-rotator bench --fleet N`: fleet rotation on the local stack. */
export async function runFleetBench(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      fleet: { type: 'string', default: '200' },
      accounts: { type: 'string', default: '1' },
      'max-concurrency': { type: 'string', default: '40' },
      'max-due-per-account': { type: 'string' },
      'wait-scale': { type: 'string', default: '0.0001' },
      'iam-rate': { type: 'string', default: '20' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const count = whole(values.fleet, 'fleet', 1, 20_000);
  const accounts = whole(values.accounts, 'accounts', 1, MAX_FLEET_ACCOUNTS);
  const maxConcurrency = whole(values['max-concurrency'], 'max-concurrency', 1, 40);
  const iamRate = whole(values['iam-rate'], 'iam-rate', 1);
  const waitScale = Number(values['wait-scale']);
  if (!(waitScale > 0)) throw new Error('--wait-scale must be a number > 0');
  const maxDuePerAccount =
    values['max-due-per-account'] === undefined
      ? undefined
      : whole(values['max-due-per-account'], 'max-due-per-account', 1, 10_000);
  const accountIds = fleetAccountIds(accounts);
  const members = accountIds.slice(1);
  // The handlers' log lines would flood stdout and the heap: the bench reads histories instead.
  const logLevel = process.env.POWERTOOLS_LOG_LEVEL;
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  const stack = await startLocalStack({
    propagationMs: 0,
    ...(members.length ? { memberAccountIds: members } : {}),
    // No retry pause overridden: each Retry backs off as its ASL says (IntervalSeconds, BackoffRate,
    // MaxDelaySeconds, FULL jitter), as in AWS, against IAM's real (unscaled) rate.
    stepFunctions: { waitScale, retryPauseMs: {} },
  });
  let peakRss = process.memoryUsage().rss;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, 100);
  try {
    const target = localTarget(stack, {
      ...(members.length
        ? {
            vaultPathTemplate: '{prefix}{accountId}/{userName}',
            allowedAccountIds: members,
            memberAccounts: members.map((accountId) => ({
              accountId,
              credentials: stack.aws.account(accountId).adminCredentials,
            })),
          }
        : {}),
    });
    await prepareTarget(target);
    const seedStarted = Date.now();
    const seeds: FleetSeed[] = Array.from({ length: count }, (_, i) => ({
      accountId: accountIds[i % accounts] ?? stack.aws.accountId,
      userName: `bench-fleet-${String(i).padStart(5, '0')}`,
      tagged: true,
      ageDays: i % 10 === 9 ? 10 : 120,
      keys: 1,
    }));
    const users = await seedFleetUsers(stack, target, seeds);
    const seedMs = Date.now() - seedStarted;
    const sfn = new SFNClient({
      region: stack.aws.region,
      endpoint: stack.aws.endpoint,
      credentials: stack.aws.adminCredentials,
    });
    stack.traffic.resetCalls();
    // Seeding ran unthrottled; the fleet runs under IAM's rate limit, each account its own buckets.
    stack.aws.setIamRateLimit({ ratePerSecond: iamRate, burst: iamRate });
    const started = Date.now();
    const input = {
      maxConcurrency,
      ...(accounts > 1 ? { accountIds } : {}),
      ...(maxDuePerAccount === undefined ? {} : { maxDuePerAccount }),
      userDefaults: { graceSeconds: 900, recoverySeconds: 86_400 },
    };
    const { executionArn = '' } = await sfn.send(
      new StartExecutionCommand({
        stateMachineArn: stack.fleetStateMachineArn,
        input: JSON.stringify(input),
      }),
    );
    let fleet: DescribeExecutionOutput;
    for (;;) {
      fleet = await sfn.send(new DescribeExecutionCommand({ executionArn }));
      if (fleet.status !== 'RUNNING') break;
      await sleep(200);
    }
    const fleetMs = Date.now() - started;
    // The rotations retire the old keys on their own after the fleet ended: wait for every one.
    for (;;) {
      const running = await sfn.send(
        new ListExecutionsCommand({
          stateMachineArn: stack.stateMachineArn,
          statusFilter: 'RUNNING',
          maxResults: 1,
        }),
      );
      if (!running.executions?.length) break;
      await sleep(500);
    }
    const allMs = Date.now() - started;
    clearInterval(sampler);

    const parentHistory = await fullHistory(sfn, executionArn);
    const summarized = parentHistory.find(
      (e) => e.type === 'TaskStateExited' && e.stateExitedEventDetails?.name === 'Summarize',
    )?.stateExitedEventDetails?.output;
    const summary = summarized ? (JSON.parse(summarized) as FleetSummary) : undefined;
    const mapRunArn = parentHistory.find((e) => e.type === 'MapRunStarted')?.mapRunStartedEventDetails
      ?.mapRunArn;
    const mapRun: DescribeMapRunOutput | undefined = mapRunArn
      ? await sfn.send(new DescribeMapRunCommand({ mapRunArn }))
      : undefined;
    const mapChildren = mapRunArn
      ? (await listAll(sfn, { mapRunArn })).map((arn) => executionOf(stack, arn))
      : [];
    const rotations = (await listAll(sfn, { stateMachineArn: stack.stateMachineArn })).map((arn) =>
      executionOf(stack, arn),
    );

    // Step Functions' bill for the run: every state entered and retry, in the parent, in each child
    // workflow (plus one transition for starting it) and in each rotation.
    const parent = transitions(parentHistory);
    const children = mapChildren.map((c) => transitions(c.history));
    const rotationSteps = rotations.map((r) => transitions(r.history));
    const sum = (list: { entered: number; retries: number }[]) =>
      list.reduce((total, t) => total + t.entered + t.retries, 0);
    const stateTransitions = {
      parent: parent.entered + parent.retries,
      mapRunChildren: sum(children) + mapChildren.length,
      rotations: sum(rotationSteps),
      total: 0,
    };
    stateTransitions.total =
      stateTransitions.parent + stateTransitions.mapRunChildren + stateTransitions.rotations;
    const costUsd = stateTransitions.total * PRICES.stateTransitionUsd;

    let largest: Payload = { bytes: 0, fn: '', direction: 'input' };
    for (const history of [parentHistory, ...rotations.map((r) => r.history)])
      largest = largestPayload(history, largest);

    const statuses: Record<string, number> = {};
    const failures: Record<string, number> = {};
    for (const r of rotations) {
      statuses[r.status] = (statuses[r.status] ?? 0) + 1;
      if (r.status !== 'SUCCEEDED' && r.status !== 'RUNNING') {
        const where = `${lastTaskEntered(r.history)} ${r.error ?? r.status}`;
        failures[where] = (failures[where] ?? 0) + 1;
      }
    }
    const spans = rotations.map((r): [number, number] => [
      r.startDate.getTime(),
      r.stopDate?.getTime() ?? Date.now(),
    ]);
    const throttles = stack.aws.iamThrottles();
    const throttled = {
      seen: Object.values(throttles).reduce((a, b) => a + b, 0),
      byAction: throttles,
      // Each failed a step attempt once the SDK's retries were spent; the state machine's Retry took it again.
      stepAttemptsRetried: [parentHistory, ...rotations.map((r) => r.history)].reduce(
        (n, h) => n + throttledAttempts(h),
        0,
      ),
      // Rotations that ended on Throttling, and accounts not listed for it: none when all were retried.
      unrecovered:
        rotations.filter((r) => r.status !== 'SUCCEEDED' && /Throttling/.test(r.cause ?? '')).length +
        (summary?.failedAccounts ?? []).filter((a) => /Throttling/.test(a.cause)).length,
    };

    // Every user's end state, read from the emulators themselves.
    const runsOf = new Map<string, RotationRun[]>();
    for (const r of rotations) {
      const { userName, accountId } = JSON.parse(r.input) as { userName: string; accountId?: string };
      const key = `${accountId ?? stack.aws.accountId}/${userName}`;
      runsOf.set(key, [
        ...(runsOf.get(key) ?? []),
        {
          status: r.status,
          ...(r.error ? { error: r.error } : {}),
          ...(r.cause ? { cause: r.cause } : {}),
          history: r.history,
        },
      ]);
    }
    const violations: string[] = [];
    for (const user of users) {
      const secret = stack.vault.readSecret(target.kvMount, user.vaultPath)?.data as
        { access_key?: string; secret_key?: string } | undefined;
      const broken = userViolations({
        ...user,
        keys: stack.aws.account(user.accountId).listAccessKeys(user.userName),
        served:
          secret?.access_key && secret.secret_key
            ? { accessKeyId: secret.access_key, secretAccessKey: secret.secret_key }
            : undefined,
        rotations: runsOf.get(`${user.accountId}/${user.userName}`) ?? [],
      });
      if (broken.length) {
        const failed = runsOf
          .get(`${user.accountId}/${user.userName}`)
          ?.find((r) => r.status !== 'SUCCEEDED');
        const why = failed
          ? ` (rotation ${failed.status} in ${lastTaskEntered(failed.history)}: ${failed.error ?? ''}: ${(failed.cause ?? '').slice(0, 300)})`
          : '';
        violations.push(`${user.accountId}/${user.userName}: ${broken.join('; ')}${why}`);
      }
    }

    const rotated = summary?.counts.rotated ?? statuses.SUCCEEDED ?? 0;
    const result: FleetBenchResult = {
      users: count,
      accounts,
      maxConcurrency,
      waitScale,
      seedMs,
      fleetStatus: fleet.status,
      fleetError: fleet.error ?? null,
      fleetCause: fleet.cause ?? null,
      counts: summary?.counts ?? null,
      accountCounts: summary?.accountCounts ?? null,
      fleetMs,
      allChildrenEndedMs: allMs,
      children: statuses,
      rotationFailures: failures,
      rotatedPerSecond: Number((rotated / (fleetMs / 1000)).toFixed(2)),
      mostChildrenRunningAtOnce: mostAtOnce(spans),
      mapRun: mapRun
        ? {
            status: mapRun.status,
            itemCounts: mapRun.itemCounts,
            mostChildWorkflowsAtOnce: mostAtOnce(
              mapChildren.map((c) => [c.startDate.getTime(), c.stopDate?.getTime() ?? Date.now()]),
            ),
          }
        : null,
      scaledGraceMs: 900_000 * waitScale,
      scaledRecoveryMs: 86_400_000 * waitScale,
      iamRatePerSecond: iamRate,
      iamThrottles: throttles,
      throttles: throttled,
      peakRssMb: Math.round(peakRss / 1024 / 1024),
      largestLambdaPayload: largest,
      stateTransitions,
      stepFunctionsCostUsd: {
        fleet: Number(costUsd.toFixed(4)),
        per1000Users: Number(((costUsd / count) * 1000).toFixed(4)),
        pricePerTransitionUsd: PRICES.stateTransitionUsd,
        priceSource: `${PRICES.sources[0]} (Standard workflows, ${PRICES.region}, read ${PRICES.readOn}); ${PRICES.distributedMapSource}`,
      },
      calls: stack.traffic.calls(),
      invariantViolations: violations,
    };
    process.stdout.write(values.json ? `${JSON.stringify(result, null, 2)}\n` : `${report(result)}\n`);
    return fleet.status === 'SUCCEEDED' && violations.length === 0 ? 0 : 1;
  } finally {
    clearInterval(sampler);
    await stack.close();
    if (logLevel === undefined) delete process.env.POWERTOOLS_LOG_LEVEL;
    else process.env.POWERTOOLS_LOG_LEVEL = logLevel;
  }
}

/** The report for people: one paragraph. */
function report(r: FleetBenchResult): string {
  const t = r.stateTransitions;
  return [
    `fleet of ${r.users} users over ${r.accounts} account(s), maxConcurrency ${r.maxConcurrency}, waits × ${r.waitScale}: ${r.fleetStatus ?? ''} (seeded in ${r.seedMs} ms)`,
    `  ${JSON.stringify(r.counts)} accounts ${JSON.stringify(r.accountCounts)}${r.fleetError ? ` ${r.fleetError}: ${r.fleetCause ?? ''}` : ''}`,
    `  fleet ${r.fleetMs} ms (${r.rotatedPerSecond} rotated/s); every rotation ended after ${r.allChildrenEndedMs} ms: ${JSON.stringify(r.children)}${
      Object.keys(r.rotationFailures).length ? `; not succeeded: ${JSON.stringify(r.rotationFailures)}` : ''
    }`,
    `  at most ${r.mostChildrenRunningAtOnce} rotations running at once; Map Run ${r.mapRun?.status ?? 'none'}, at most ${r.mapRun?.mostChildWorkflowsAtOnce ?? 0} child workflows at once (slots: ${r.maxConcurrency})`,
    `  IAM at ${r.iamRatePerSecond} calls/s per action per account: ${r.throttles.seen} Throttling ${JSON.stringify(r.throttles.byAction)}; ${r.throttles.stepAttemptsRetried} step attempts failed on it once the SDK's retries were spent and were retried by their Retry (the rest were retried within the functions: the SDK, listCandidates' paced pages); ${r.throttles.unrecovered} unrecovered`,
    `  peak RSS of the stack (this process) ${r.peakRssMb} MB; largest Lambda payload ${r.largestLambdaPayload.bytes} bytes (${r.largestLambdaPayload.fn} ${r.largestLambdaPayload.direction}; Step Functions' limit 262144)`,
    `  state transitions ${t.total} (parent ${t.parent}, Map Run child workflows ${t.mapRunChildren}, rotations ${t.rotations}): $${r.stepFunctionsCostUsd.fleet} ($${r.stepFunctionsCostUsd.per1000Users} per 1,000 users)`,
    `    priced at ${r.stepFunctionsCostUsd.priceSource}`,
    `  invariant violations: ${r.invariantViolations.length ? r.invariantViolations.join(', ') : 'none'}`,
  ].join('\n');
}
