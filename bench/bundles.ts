// Builds each function's bundle the way the deployment does (serverless.yml custom.esbuild), and a
// naive bundle of the same handler to compare with: shared by the size budget test and the bench.
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { build, type BuildOptions } from 'esbuild';
import { parse } from 'yaml';
import { FUNCTIONS, type FunctionName } from '../deploy/policies.cjs';

/** Keys of custom.esbuild that serverless-esbuild consumes itself instead of passing to esbuild. */
const PLUGIN_KEYS = [
  'concurrency',
  'zipConcurrency',
  'exclude',
  'nativeZip',
  'packager',
  'packagePath',
  'keepOutputDirectory',
  'packagerOptions',
  'installExtraArgs',
  'outputFileExtension',
  'outputBuildFolder',
  'outputWorkFolder',
  'nodeExternals',
  'skipBuild',
  'skipRebuild',
  'skipBuildExcludeFns',
  'stripEntryResolveExtensions',
  'disposeContext',
];

const ROOT = new URL('..', import.meta.url).pathname;

/** esbuild's options as serverless-esbuild derives them from serverless.yml. */
export async function deploymentOptions(): Promise<BuildOptions> {
  const service = parse(await readFile(join(ROOT, 'serverless.yml'), 'utf8')) as {
    custom: { esbuild: Record<string, unknown> };
  };
  const options = Object.fromEntries(
    Object.entries(service.custom.esbuild).filter(([key]) => !PLUGIN_KEYS.includes(key)),
  ) as BuildOptions;
  // Relative alias targets are resolved from the service directory, as the plugin runs there.
  const alias = Object.fromEntries(
    Object.entries(options.alias ?? {}).map(([from, to]) => [from, to.startsWith('.') ? join(ROOT, to) : to]),
  );
  return { ...options, alias, absWorkingDir: ROOT };
}

/**
 * The naive bundle of a handler: minified CommonJS, packages resolved as Node resolves them
 * (CommonJS builds first), nothing aliased.
 */
const NAIVE: BuildOptions = {
  bundle: true,
  minify: true,
  keepNames: true,
  format: 'cjs',
  platform: 'node',
  target: 'node22',
  absWorkingDir: ROOT,
};

export interface Bundle {
  fn: FunctionName;
  file: string;
  bytes: number;
  /** The size of a zip holding just this file (deflate, level 9), as the deployment uploads it. */
  zipBytes: number;
  /** The source files in the bundle, relative to the service directory. */
  inputs: string[];
}

/** A one-file zip's size: the deflated data plus local header, central directory entry and end record. */
function zipSize(data: Buffer, name: string): number {
  return deflateRawSync(data, { level: 9 }).length + 30 + 46 + 22 + 2 * Buffer.byteLength(name);
}

/** Builds every function's bundle into `outDir`; `naive` builds the naive CommonJS bundle instead. */
export async function buildBundles(outDir: string, naive = false): Promise<Bundle[]> {
  const base = naive ? NAIVE : await deploymentOptions();
  const extension = naive ? '.cjs' : '.mjs';
  await rm(outDir, { recursive: true, force: true });
  return Promise.all(
    FUNCTIONS.map(async (fn) => {
      const name = `functions/${fn}${extension}`;
      const file = join(outDir, name);
      const { metafile } = await build({
        ...base,
        entryPoints: [join(ROOT, `functions/${fn}.ts`)],
        outfile: file,
        metafile: true,
        logLevel: 'error',
      });
      const data = await readFile(file);
      const inputs = Object.values(metafile.outputs).flatMap((output) => Object.keys(output.inputs));
      return { fn, file, bytes: data.length, zipBytes: zipSize(data, name), inputs };
    }),
  );
}
