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

export interface InitComparison<V extends string> {
  /** A bare `node` that imports nothing. */
  bare: Spread;
  /** Each function's variants, above the bare node. */
  byBundle: { name: string; init: Record<V, Spread> }[];
}

/**
 * Cold init of each function's bundles (one file per variant), above a bare `node`: `runs` rounds,
 * each timing the bare node and every bundle, the variants' order rotating from round to round, so
 * drift hits all alike.
 */
export function compareColdInit<V extends string>(
  variants: readonly V[],
  bundles: { name: string; files: Record<V, string> }[],
  runs: number,
): InitComparison<V> {
  const bare: number[] = [];
  const samples = new Map(bundles.map((b) => [b.name, new Map(variants.map((v) => [v, [] as number[]]))]));
  timeImport(undefined);
  for (let run = 0; run < runs; run++) {
    bare.push(timeImport(undefined));
    const order = variants.map((_, i) => variants[(i + run) % variants.length] as V);
    for (const bundle of bundles) {
      for (const variant of order) {
        samples.get(bundle.name)?.get(variant)?.push(timeImport(bundle.files[variant]));
      }
    }
  }
  const bareSpread = spread(bare);
  const above = (times: number[] = []) => spread(times.map((ms) => ms - bareSpread.median));
  return {
    bare: bareSpread,
    byBundle: bundles.map((bundle) => ({
      name: bundle.name,
      init: Object.fromEntries(variants.map((v) => [v, above(samples.get(bundle.name)?.get(v))])) as Record<
        V,
        Spread
      >,
    })),
  };
}
