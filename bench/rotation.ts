import { parseArgs } from 'node:util';
import { prepareTarget, rotate } from '../local-stack/rotation.js';
import { localTarget, seedUser } from '../local-stack/provision.js';
import { startLocalStack } from '../local-stack/stack.js';

const HELP = `usage: iam-key-rotator bench [--rotations N] [--json]      (npm run bench)

Runs N full rotations (default 20) back to back on the local stack with waits and retry pauses
set to zero, and reports the wall time per rotation (min, median, p95, max), rotations per second,
the calls one rotation makes and the process's peak memory.`;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

/** `iam-key-rotator bench`: rotation speed and memory on the local stack. */
export async function runBench(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      rotations: { type: 'string', default: '20' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const rotations = Number(values.rotations);
  if (!Number.isInteger(rotations) || rotations < 1)
    throw new Error('--rotations must be a whole number >= 1');
  const stack = await startLocalStack({ propagationMs: 0 });
  const target = localTarget(stack);
  const times: number[] = [];
  let peakRss = 0;
  let calls: Record<string, number> = {};
  try {
    await prepareTarget(target);
    for (let i = 0; i < rotations; i++) {
      const user = await seedUser(target, `bench-${i}`);
      const report = await rotate({ target, stack, user, waitMs: 0, retryPauseMs: 0 });
      if (report.status !== 'SUCCEEDED')
        throw new Error(`rotation ${i} failed: ${report.error?.Error ?? ''}`);
      times.push(report.durationMs);
      calls = report.calls;
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
    }
  } finally {
    await stack.close();
  }
  const sorted = [...times].sort((a, b) => a - b);
  const total = times.reduce((a, b) => a + b, 0);
  const result = {
    rotations,
    msPerRotation: {
      min: sorted[0] ?? 0,
      median: percentile(sorted, 50),
      p95: percentile(sorted, 95),
      max: sorted[sorted.length - 1] ?? 0,
    },
    rotationsPerSecond: Number(((rotations * 1000) / total).toFixed(2)),
    callsPerRotation: calls,
    peakRssMiB: Number((peakRss / 2 ** 20).toFixed(1)),
    node: process.version,
  };
  process.stdout.write(
    values.json
      ? `${JSON.stringify(result, null, 2)}\n`
      : [
          `${rotations} rotations on the local stack (waits and retry pauses 0)`,
          `  ms per rotation: min ${result.msPerRotation.min}, median ${result.msPerRotation.median}, p95 ${result.msPerRotation.p95}, max ${result.msPerRotation.max}`,
          `  rotations per second: ${result.rotationsPerSecond}`,
          `  peak RSS: ${result.peakRssMiB} MiB`,
          `  calls per rotation: ${Object.entries(calls)
            .map(([k, v]) => `${k}=${v}`)
            .join(' ')}`,
        ].join('\n') + '\n',
  );
  return 0;
}
