import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';

/** Milliseconds: the median and the middle half of the samples. */
export interface Spread {
  median: number;
  p25: number;
  p75: number;
}

function spread(samples: number[]): Spread {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * (sorted.length - 1)))] ?? 0;
  const round = (n: number) => Math.round(n * 10) / 10;
  return { median: round(at(0.5)), p25: round(at(0.25)), p75: round(at(0.75)) };
}

/** Wall time of a fresh `node` that imports `file` (nothing when undefined) and exits. */
function timeImport(file: string | undefined): number {
  const code = file ? `await import(${JSON.stringify(pathToFileURL(file).href)})` : '';
  const started = process.hrtime.bigint();
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', code], {
    stdio: 'ignore',
    env: { PATH: process.env.PATH ?? '', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (child.status !== 0) throw new Error(`importing ${file ?? 'nothing'} failed (exit ${child.status})`);
  return ms;
}

export interface InitComparison {
  /** A bare `node` that imports nothing. */
  bare: Spread;
  byBundle: { name: string; lean: Spread; naive: Spread; ratio: number }[];
}

/**
 * Cold init of each pair of bundles, above a bare `node`: `runs` rounds, each timing the bare node
 * and every bundle of every pair, the pair's order alternating, so drift hits all alike.
 */
export function compareColdInit(
  pairs: { name: string; lean: string; naive: string }[],
  runs: number,
): InitComparison {
  const bare: number[] = [];
  const lean = new Map<string, number[]>(pairs.map((p) => [p.name, []]));
  const naive = new Map<string, number[]>(pairs.map((p) => [p.name, []]));
  timeImport(undefined);
  for (let run = 0; run < runs; run++) {
    bare.push(timeImport(undefined));
    for (const pair of pairs) {
      const order = run % 2 === 0 ? (['lean', 'naive'] as const) : (['naive', 'lean'] as const);
      for (const which of order) {
        (which === 'lean' ? lean : naive).get(pair.name)?.push(timeImport(pair[which]));
      }
    }
  }
  const bareSpread = spread(bare);
  const above = (samples: number[] = []) => spread(samples.map((ms) => ms - bareSpread.median));
  return {
    bare: bareSpread,
    byBundle: pairs.map((pair) => {
      const l = above(lean.get(pair.name));
      const n = above(naive.get(pair.name));
      return { name: pair.name, lean: l, naive: n, ratio: Math.round((l.median / n.median) * 100) / 100 };
    }),
  };
}
