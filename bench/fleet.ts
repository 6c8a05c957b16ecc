import { parseArgs } from 'node:util';
import { IAMClient, ListAccessKeysCommand, TagUserCommand } from '@aws-sdk/client-iam';
import {
  DescribeExecutionCommand,
  type DescribeExecutionOutput,
  ListExecutionsCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import type { FleetSummary } from '../functions/summarizeFleet.js';
import { localTarget, observe, seedUser, type SeededUser } from '../local-stack/provision.js';
import { prepareTarget } from '../local-stack/rotation.js';
import { startLocalStack } from '../local-stack/stack.js';

const HELP = `usage: iam-key-rotator bench --fleet N [--max-concurrency C] [--wait-scale S] [--iam-rate R] [--json]

Seeds N users (9 in 10 due, 1 in 10 with a young key) and runs the fleet machine on the local stack
with the deployment's default waits (grace 900 s, recovery 86400 s) scaled by S (default 0.0001):
reports the fleet's time (bounded by the active steps, not the waits), the time until every child
ended, throughput, the most children running at once, the calls per service, IAM's Throttling
answers (a token bucket per action, R calls/s with a burst of R, default 50; every one was retried
when every due user rotated), and every user whose keys break the promises (one Active key, the
one Vault serves, not the old one).`;

const DAY_MS = 86_400_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `iam-key-rotator bench --fleet N`: fleet rotation on the local stack. */
export async function runFleetBench(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      fleet: { type: 'string', default: '200' },
      'max-concurrency': { type: 'string', default: '10' },
      'wait-scale': { type: 'string', default: '0.0001' },
      'iam-rate': { type: 'string', default: '50' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const count = Number(values.fleet);
  const maxConcurrency = Number(values['max-concurrency']);
  const waitScale = Number(values['wait-scale']);
  const iamRate = Number(values['iam-rate']);
  if (!Number.isInteger(count) || count < 1) throw new Error('--fleet must be a whole number >= 1');
  if (!Number.isInteger(iamRate) || iamRate < 1) throw new Error('--iam-rate must be a whole number >= 1');
  // The ASL's retry backoff (2 s doubling, at most 30 s) scaled × 0.1: throttled steps back off.
  const backoff = [200, 400, 800, 1600, 3000, 3000, 3000, 3000];
  const retryPauseMs = Object.fromEntries(
    [
      'ValidateInput',
      'CreateKey',
      'StoreInVault',
      'VerifyKey',
      'DeactivateOld',
      'DeleteOld',
      'RestoreVault',
      'DiscardNewKey',
    ].map((state) => [state, backoff]),
  );
  const stack = await startLocalStack({ propagationMs: 0, stepFunctions: { waitScale, retryPauseMs } });
  try {
    const target = localTarget(stack);
    await prepareTarget(target);
    const client = {
      region: stack.aws.region,
      endpoint: stack.aws.endpoint,
      credentials: stack.aws.adminCredentials,
    };
    const iam = new IAMClient(client);
    const sfn = new SFNClient(client);
    const users: SeededUser[] = [];
    for (let i = 0; i < count; i++) {
      const user = await seedUser(target, `bench-fleet-${String(i).padStart(4, '0')}`);
      await iam.send(
        new TagUserCommand({
          UserName: user.userName,
          Tags: [{ Key: 'iam-key-rotator:rotate', Value: 'true' }],
        }),
      );
      const keys =
        (await iam.send(new ListAccessKeysCommand({ UserName: user.userName }))).AccessKeyMetadata ?? [];
      const ageDays = i % 10 === 9 ? 10 : 120;
      for (const key of keys) {
        await fetch(`${stack.aws.endpoint}/__admin/access-keys/${key.AccessKeyId}/create-date`, {
          method: 'POST',
          body: JSON.stringify({ createDate: new Date(Date.now() - ageDays * DAY_MS).toISOString() }),
        });
      }
      users.push(user);
    }
    stack.traffic.resetCalls();
    // Seeding ran unthrottled; the fleet runs under IAM's rate limit.
    stack.aws.setIamRateLimit({ ratePerSecond: iamRate, burst: iamRate });
    const started = Date.now();
    const input = { maxConcurrency, userDefaults: { graceSeconds: 900, recoverySeconds: 86_400 } };
    const { executionArn } = await sfn.send(
      new StartExecutionCommand({
        stateMachineArn: stack.fleetStateMachineArn,
        input: JSON.stringify(input),
      }),
    );
    let fleet: DescribeExecutionOutput;
    for (;;) {
      fleet = await sfn.send(new DescribeExecutionCommand({ executionArn }));
      if (fleet.status !== 'RUNNING') break;
      await sleep(50);
    }
    const fleetMs = Date.now() - started;
    const summary = fleet.output ? (JSON.parse(fleet.output) as FleetSummary) : undefined;
    // The children retire the old keys on their own after the fleet ended: wait for every one.
    const listed = await sfn.send(
      new ListExecutionsCommand({ stateMachineArn: stack.stateMachineArn, maxResults: 1000 }),
    );
    const spans: [number, number][] = [];
    const statuses: Record<string, number> = {};
    for (const child of listed.executions ?? []) {
      let ended: DescribeExecutionOutput;
      for (;;) {
        ended = await sfn.send(new DescribeExecutionCommand({ executionArn: child.executionArn }));
        if (ended.status !== 'RUNNING') break;
        await sleep(100);
      }
      spans.push([ended.startDate?.getTime() ?? 0, ended.stopDate?.getTime() ?? 0]);
      statuses[ended.status ?? ''] = (statuses[ended.status ?? ''] ?? 0) + 1;
    }
    const allMs = Date.now() - started;
    // Users whose child signalled (the summary's `rotated`; a FAILED fleet has no output: its SUCCEEDED children).
    const rotated = new Set(summary?.rotated ?? []);
    const violations: string[] = [];
    for (const user of users.filter((u) => rotated.has(u.userName))) {
      const after = await observe(target, user);
      const only = after.accessKeys[0];
      if (
        after.accessKeys.length !== 1 ||
        only?.status !== 'Active' ||
        after.vault?.accessKeyId !== only.accessKeyId ||
        only.accessKeyId === user.oldAccessKeyId
      ) {
        violations.push(user.userName);
      }
    }
    let running = 0;
    let mostRunning = 0;
    const edges = spans
      .flatMap(([a, b]) => [[a, 1] as const, [b, -1] as const])
      .sort((x, y) => x[0] - y[0] || x[1] - y[1]);
    for (const [, change] of edges) mostRunning = Math.max(mostRunning, (running += change));
    const result = {
      users: count,
      maxConcurrency,
      waitScale,
      fleetStatus: fleet.status,
      fleetError: fleet.error ?? null,
      fleetCause: fleet.cause ?? null,
      counts: summary?.counts ?? null,
      fleetMs,
      allChildrenEndedMs: allMs,
      children: statuses,
      rotatedPerSecond: Number(((statuses.SUCCEEDED ?? 0) / (fleetMs / 1000)).toFixed(2)),
      mostChildrenRunningAtOnce: mostRunning,
      scaledGraceMs: 900_000 * waitScale,
      scaledRecoveryMs: 86_400_000 * waitScale,
      iamRatePerSecond: iamRate,
      iamThrottles: stack.aws.iamThrottles(),
      calls: stack.traffic.calls(),
      invariantViolations: violations,
    };
    process.stdout.write(
      values.json
        ? `${JSON.stringify(result, null, 2)}\n`
        : [
            `fleet of ${count} users, maxConcurrency ${maxConcurrency}, waits × ${waitScale}: ${fleet.status}`,
            `  ${JSON.stringify(result.counts)}${fleet.error ? ` ${fleet.error}: ${fleet.cause ?? ''}` : ''}`,
            `  fleet ${fleetMs} ms (${result.rotatedPerSecond} rotated/s); every child ended after ${allMs} ms: ${JSON.stringify(statuses)}`,
            `  at most ${mostRunning} children running at once (slots: ${maxConcurrency})`,
            `  IAM at ${iamRate} calls/s per action: Throttling ${JSON.stringify(result.iamThrottles)}`,
            `  invariant violations: ${violations.length ? violations.join(', ') : 'none'}`,
          ].join('\n') + '\n',
    );
    return fleet.status === 'SUCCEEDED' && violations.length === 0 ? 0 : 1;
  } finally {
    await stack.close();
  }
}
