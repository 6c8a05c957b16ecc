import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { arch, cpus, loadavg, platform, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parse } from 'yaml';
import { LOCAL_RETRY_PAUSES, prepareTarget, rotate } from '../local-stack/rotation.js';
import { localTarget, seedUser, type Target } from '../local-stack/provision.js';
import { type LocalStack, startLocalStack } from '../local-stack/stack.js';
import { type Bundle, buildBundles, PREVIOUS_VAULT_CLIENT } from './bundles.js';
import { EXTRA_REASONS, MINIMUM_CALLS } from './calls.js';
import { compareColdInit } from './cold-init.js';
import { PRICES } from './prices.js';

const HELP = `usage: iam-key-rotator bench [--runs N] [--rotations N] [--long] [--json]      (npm run bench)

The performance report:
  bundles    each function's bundle (serverless.yml's esbuild options) and its zip, and its cold
             init above a bare node (median and middle half of --runs N rounds, default 10) beside
             the same bundle with the previous Vault client (node:http, from git history) and a
             naive CommonJS bundle of the same handler, all built in the same run;
  calls      the calls of one rotation (IAM propagation 1.5 s) by service and operation beside the
             minimum, why each extra is made, state transitions, Lambda requests and the AWS cost;
  local      --rotations N back to back (default 50; --long: 200) with waits and retry pauses 0:
             rotations per second including execution setup, and peak RSS and heap growth per
             rotation after a forced GC, at 10, 50 (and 200) rotations.
Run with node --expose-gc for the heap figures (npm run bench does).`;

const PROPAGATION_MS = 1_500;

interface Deployment {
  memoryMb: number;
  architecture: 'arm64' | 'x86_64';
}

async function deployment(): Promise<Deployment> {
  const service = parse(await readFile(new URL('../serverless.yml', import.meta.url), 'utf8')) as {
    provider: { memorySize: number; architecture: Deployment['architecture'] };
  };
  return { memoryMb: service.provider.memorySize, architecture: service.provider.architecture };
}

async function bundleReport(runs: number) {
  const dir = await mkdtemp(join(tmpdir(), 'iam-key-rotator-bench-'));
  try {
    const lean = await buildBundles(join(dir, 'lean'));
    const naive = await buildBundles(join(dir, 'naive'), 'naive');
    let previous: Bundle[] = [];
    let previousMissing: string | undefined;
    try {
      previous = await buildBundles(join(dir, 'previous'), 'previous');
    } catch (error) {
      previousMissing = error instanceof Error ? error.message : String(error);
    }
    const fileOf = (bundles: Bundle[], fn: string) => bundles.find((b) => b.fn === fn)?.file ?? '';
    const variants =
      previous.length > 0 ? (['lean', 'previous', 'naive'] as const) : (['lean', 'naive'] as const);
    const init = compareColdInit<'lean' | 'previous' | 'naive'>(
      variants,
      lean.map((b) => ({
        name: b.fn,
        files: { lean: b.file, previous: fileOf(previous, b.fn), naive: fileOf(naive, b.fn) },
      })),
      runs,
    );
    const functions = lean.map((b) => {
      const n = naive.find((x) => x.fn === b.fn);
      const p = previous.find((x) => x.fn === b.fn);
      const i = init.byBundle.find((x) => x.name === b.fn)?.init;
      return {
        fn: b.fn,
        bytes: b.bytes,
        zipBytes: b.zipBytes,
        initMs: i?.lean,
        previousClient: p ? { bytes: p.bytes, zipBytes: p.zipBytes, initMs: i?.previous } : undefined,
        naiveBytes: n?.bytes ?? 0,
        naiveInitMs: i?.naive,
        ratio: i ? Math.round((i.lean.median / i.naive.median) * 100) / 100 : 0,
      };
    });
    const previousClient = {
      ...PREVIOUS_VAULT_CLIENT,
      ...(previousMissing ? { unavailable: previousMissing } : {}),
    };
    return { runs, bareNodeMs: init.bare, previousClient, functions };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)] ?? 0;

export async function callsReport(
  stack: LocalStack,
  target: Target,
  costs: Deployment,
  initMedianMs: Map<string, number>,
) {
  stack.aws.setPropagationMs(PROPAGATION_MS);
  const runs = [];
  for (let i = 0; i < 3; i++) {
    const user = await seedUser(target, `bench-calls-${i}`);
    const report = await rotate({ target, stack, user, waitMs: 0, retryPauseMs: LOCAL_RETRY_PAUSES });
    if (report.status !== 'SUCCEEDED') throw new Error(`rotation failed: ${report.error?.Error ?? ''}`);
    runs.push(report);
  }
  stack.aws.setPropagationMs(0);
  const last = runs[runs.length - 1];
  if (!last) throw new Error('no rotation');
  // In Lambda each Vault function starts cold on its own: it logs in, and asks the KV version (auto).
  const vaultFunctions = new Set(
    last.history.flatMap((e) =>
      e.type === 'StateEntered' && e.state?.type === 'Task' && e.state.name !== 'ValidateInput'
        ? [e.state.name]
        : [],
    ),
  ).size;
  const perContainer = new Set(['vault:login', 'vault:mounts']);
  const operations = new Set([...Object.keys(last.calls), ...Object.keys(MINIMUM_CALLS), ...perContainer]);
  const calls = [...operations].sort().map((operation) => {
    const count = last.calls[operation] ?? 0;
    const minimum = MINIMUM_CALLS[operation] ?? 0;
    // Vault forwards each aws-auth login's signed GetCallerIdentity to STS.
    const logins = vaultFunctions - (last.calls['vault:login'] ?? 0);
    const inLambda = perContainer.has(operation)
      ? vaultFunctions
      : operation === 'sts:GetCallerIdentity'
        ? count + logins
        : count;
    const why = Math.max(count, inLambda) > minimum ? (EXTRA_REASONS[operation] ?? 'UNEXPLAINED') : undefined;
    return { operation, count, inLambda, minimum, ...(why ? { why } : {}) };
  });
  // Step Functions bills every state entered and every retry.
  const entered = last.history.filter((e) => e.type === 'StateEntered').length;
  const retries = last.history.filter((e) => e.type === 'StateRetried').length;
  const transitions = entered + retries;
  // A Task state's invocations: its first attempt and each retry.
  const taskStates = last.history.filter((e) => e.type === 'StateEntered' && e.state?.type === 'Task');
  const lambdaRequests = taskStates.length + retries;
  // Duration: each Task's time in the local stack, plus a cold init per function (rotations are days apart).
  const taskMs = taskDurations(last.history);
  const coldInitMs = [...new Set(taskStates.map((e) => e.state?.name ?? ''))]
    .map((state) => Math.max(0, initMedianMs.get(stateFunction(state)) ?? 0))
    .reduce((a, b) => a + b, 0);
  const gbSeconds = ((taskMs + coldInitMs) / 1000) * (costs.memoryMb / 1024);
  const kmsRequests = calls
    .filter((c) => c.operation.startsWith('kms:'))
    .reduce((sum, c) => sum + c.inLambda, 0);
  const usd =
    transitions * PRICES.stateTransitionUsd +
    lambdaRequests * PRICES.lambdaRequestUsd +
    gbSeconds * PRICES.lambdaGbSecondUsd[costs.architecture] +
    kmsRequests * PRICES.kmsRequestUsd;
  return {
    propagationMs: PROPAGATION_MS,
    calls,
    stateTransitions: { entered, retries, total: transitions },
    lambda: {
      requests: lambdaRequests,
      coldStarts: new Set(taskStates.map((e) => e.state?.name)).size,
      gbSeconds: Number(gbSeconds.toFixed(4)),
      ...costs,
    },
    costUsd: { perRotation: Number(usd.toFixed(7)), per1000Rotations: Number((usd * 1000).toFixed(4)) },
    prices: PRICES,
    overheadMs: median(runs.map((r) => r.durationMs - PROPAGATION_MS)),
  };
}

const STATE_FUNCTIONS: Record<string, string> = {
  ValidateInput: 'validateInput',
  CreateKey: 'createKey',
  StoreInVault: 'storeInVault',
  VerifyKey: 'verifyKey',
  DeactivateOld: 'deactivateOld',
  DeleteOld: 'deleteOld',
  RestoreVault: 'restoreVault',
  DiscardNewKey: 'discardNewKey',
  DiscardLeftovers: 'discardLeftovers',
};
const stateFunction = (state: string) => STATE_FUNCTIONS[state] ?? state;

/** Time spent in Task states: each StateEntered to the matching StateExited, StateFailed or StateRetried. */
function taskDurations(
  history: { type: string; timestamp: number; state?: { name: string; type: string } }[],
): number {
  let total = 0;
  let open: { name: string; at: number } | undefined;
  for (const event of history) {
    if (event.type === 'StateEntered' && event.state?.type === 'Task')
      open = { name: event.state.name, at: event.timestamp };
    else if (
      open &&
      ['StateExited', 'StateFailed', 'StateRetried'].includes(event.type) &&
      event.state?.name === open.name
    ) {
      total += Math.max(1, event.timestamp - open.at);
      open = event.type === 'StateRetried' ? { name: open.name, at: event.timestamp } : undefined;
    }
  }
  return total;
}

const gc = (globalThis as { gc?: () => void }).gc;

async function localReport(stack: LocalStack, target: Target, rotations: number) {
  const checkpoints = [10, 50, 200].filter((n) => n <= rotations);
  if (!checkpoints.includes(rotations)) checkpoints.push(rotations);
  // One rotation first, so that module loading and first-use caches are not counted as growth.
  await rotate({ target, stack, user: await seedUser(target, 'bench-warm'), waitMs: 0, retryPauseMs: 0 });
  gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  let peakRss = process.memoryUsage().rss;
  const wall: number[] = [];
  const execution: number[] = [];
  const samples = [];
  for (let i = 1; i <= rotations; i++) {
    const user = await seedUser(target, `bench-${i}`);
    const started = performance.now();
    const report = await rotate({ target, stack, user, waitMs: 0, retryPauseMs: 0 });
    wall.push(performance.now() - started);
    if (report.status !== 'SUCCEEDED') throw new Error(`rotation ${i} failed: ${report.error?.Error ?? ''}`);
    execution.push(report.durationMs);
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    if (checkpoints.includes(i)) {
      gc?.();
      const heap = process.memoryUsage().heapUsed;
      samples.push({
        rotations: i,
        peakRssMiB: Number((peakRss / 2 ** 20).toFixed(1)),
        heapGrowthKiBPerRotation: gc ? Number(((heap - heapBefore) / 1024 / i).toFixed(1)) : null,
      });
    }
  }
  const total = wall.reduce((a, b) => a + b, 0);
  return {
    rotations,
    rotationsPerSecond: Number(((rotations * 1000) / total).toFixed(2)),
    msPerRotation: {
      wall: Math.round(median(wall)),
      execution: median(execution),
      setupAndChecks: Math.round(median(wall.map((w, i) => w - (execution[i] ?? 0)))),
    },
    memory: samples,
    forcedGc: Boolean(gc),
  };
}

/** `iam-key-rotator bench`: the performance report. */
export async function runBench(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      runs: { type: 'string', default: '10' },
      rotations: { type: 'string' },
      long: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const runs = Number(values.runs);
  const rotations = Number(values.rotations ?? (values.long ? 200 : 50));
  if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs must be a whole number >= 1');
  if (!Number.isInteger(rotations) || rotations < 1)
    throw new Error('--rotations must be a whole number >= 1');
  const costs = await deployment();
  const bundles = await bundleReport(runs);
  const initMedian = new Map(bundles.functions.map((f) => [f.fn, f.initMs?.median ?? 0]));
  const stack = await startLocalStack({ propagationMs: 0 });
  const target = localTarget(stack);
  let calls;
  let local;
  try {
    await prepareTarget(target);
    calls = await callsReport(stack, target, costs, initMedian);
    local = await localReport(stack, target, rotations);
  } finally {
    await stack.close();
  }
  const result = { machine: machine(), bundles, rotation: calls, localStack: local };
  process.stdout.write(values.json ? `${JSON.stringify(result, null, 2)}\n` : `${table(result)}\n`);
  return 0;
}

function machine() {
  const [one, five] = loadavg();
  return {
    node: process.version,
    platform: `${platform()} ${arch()}`,
    cpus: `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'unknown'}`,
    loadAverage: { oneMinute: Number(one?.toFixed(2)), fiveMinutes: Number(five?.toFixed(2)) },
  };
}

type Report = {
  machine: ReturnType<typeof machine>;
  bundles: Awaited<ReturnType<typeof bundleReport>>;
  rotation: Awaited<ReturnType<typeof callsReport>>;
  localStack: Awaited<ReturnType<typeof localReport>>;
};

const kb = (bytes: number) => `${(bytes / 1024).toFixed(0)} KB`;
const ms = (s: { median: number; p25: number; p75: number } | undefined) =>
  s ? `${s.median} ms (${s.p25}–${s.p75})` : '-';
const signed = (n: number, unit: string, digits: number) =>
  `${n >= 0 ? '+' : '−'}${Math.abs(n).toFixed(digits)} ${unit}`;

function columns(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) => `  ${r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ')}`.trimEnd()).join('\n');
}

function table(r: Report): string {
  const { bundles, rotation, localStack, machine: m } = r;
  return [
    `Node ${m.node}, ${m.platform}, ${m.cpus}, load average ${m.loadAverage.oneMinute} (1 min) ${m.loadAverage.fiveMinutes} (5 min)`,
    '',
    `Bundles and cold init above a bare node (${bundles.bareNodeMs.median} ms), median (middle half) of ${bundles.runs} rounds,`,
    `as deployed (Vault client on axios), with the previous client (${bundles.previousClient.name}, ${bundles.previousClient.commit.slice(0, 7)}) and as a naive CommonJS bundle, all built in this run:`,
    columns([
      [
        'function',
        'bundle',
        'zip',
        'init',
        `${bundles.previousClient.name}`,
        'init',
        'axios costs',
        'naive CJS',
        'naive init',
        'ratio',
      ],
      ...bundles.functions.map((f) => {
        const p = f.previousClient;
        return [
          f.fn,
          kb(f.bytes),
          kb(f.zipBytes),
          ms(f.initMs),
          p ? kb(p.bytes) : '-',
          ms(p?.initMs),
          p && f.initMs && p.initMs
            ? `${signed((f.bytes - p.bytes) / 1024, 'KB', 0)}, ${signed(f.initMs.median - p.initMs.median, 'ms', 1)}`
            : '-',
          kb(f.naiveBytes),
          ms(f.naiveInitMs),
          `${f.ratio.toFixed(2)}×`,
        ];
      }),
    ]),
    ...(bundles.previousClient.unavailable
      ? [`  previous client not built: ${bundles.previousClient.unavailable}`]
      : []),
    '',
    `One rotation (IAM propagation ${rotation.propagationMs} ms): calls on the local stack (one warm process) and in Lambda (every function cold), beside the minimum`,
    columns([
      ['operation', 'local', 'Lambda', 'min', 'why more'],
      ...rotation.calls.map((c) => [
        c.operation,
        String(c.count),
        String(c.inLambda),
        String(c.minimum),
        c.why ?? '',
      ]),
    ]),
    `  state transitions ${rotation.stateTransitions.total} (${rotation.stateTransitions.entered} states entered + ${rotation.stateTransitions.retries} retries); Lambda requests ${rotation.lambda.requests}, cold starts ${rotation.lambda.coldStarts}, ${rotation.lambda.gbSeconds} GB-s at ${rotation.lambda.memoryMb} MB ${rotation.lambda.architecture}`,
    `  AWS cost: $${rotation.costUsd.perRotation} per rotation, $${rotation.costUsd.per1000Rotations} per 1,000 rotations (${rotation.prices.region} list prices read ${rotation.prices.readOn})`,
    `  local overhead beyond the propagation delay: ${rotation.overheadMs} ms (median of 3)`,
    '',
    `Local stack, ${localStack.rotations} rotations back to back (waits and retry pauses 0):`,
    `  ${localStack.rotationsPerSecond} rotations/s; per rotation ${localStack.msPerRotation.wall} ms wall = ${localStack.msPerRotation.execution} ms execution + ${localStack.msPerRotation.setupAndChecks} ms setup and before/after checks (medians)`,
    ...localStack.memory.map(
      (s) =>
        `  after ${s.rotations}: peak RSS ${s.peakRssMiB} MiB, heap growth ${s.heapGrowthKiBPerRotation ?? '? (run with --expose-gc)'} KiB per rotation`,
    ),
  ].join('\n');
}
