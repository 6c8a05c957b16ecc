// Builds each function's bundle the way the deployment does (serverless.yml custom.esbuild), and
// bundles of the same handler to compare with: a naive one, and one with the previous Vault client.
// Shared by the size budget test and the bench.
import { execFile } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { promisify } from 'node:util';
import { deflateRawSync } from 'node:zlib';
import { build, type BuildOptions, type Plugin } from 'esbuild';
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

/**
 * The Vault client the bench compares with: functions/commons/vault/ over node:http(s), as it was
 * at this commit (the last change to it before the client moved to axios).
 */
export const PREVIOUS_VAULT_CLIENT = {
  commit: '3f139f2485a0e4f0e14cdc6352a7ae5b1252cbac',
  name: 'node:http',
};

const VAULT_DIR = join(ROOT, 'functions/commons/vault/');

/** The file at `path` (relative to the service directory) in `commit`, or undefined if it had none. */
async function gitShow(commit: string, path: string): Promise<string | undefined> {
  try {
    const { stdout } = await promisify(execFile)('git', ['show', `${commit}:${path}`], {
      cwd: ROOT,
      maxBuffer: 16 * 2 ** 20,
    });
    return stdout;
  } catch {
    return undefined;
  }
}

/**
 * Loads functions/commons/vault/*.ts as they were in `commit`; everything else is today's, so two
 * bundles differ by the Vault client only.
 */
function vaultClientAt(commit: string): Plugin {
  return {
    name: 'vault-client-at-commit',
    setup(pluginBuild) {
      // A module of the old client that no longer exists is still found.
      pluginBuild.onResolve({ filter: /^\.\/[^/]+\.js$/ }, (args) =>
        args.importer.startsWith(VAULT_DIR)
          ? { path: join(args.resolveDir, args.path.replace(/\.js$/, '.ts')) }
          : undefined,
      );
      pluginBuild.onLoad({ filter: /\/functions\/commons\/vault\/[^/]+\.ts$/ }, async (args) => {
        const contents = await gitShow(commit, relative(ROOT, args.path));
        return contents === undefined
          ? undefined
          : { contents, loader: 'ts', resolveDir: dirname(args.path) };
      });
    },
  };
}

/** Throws unless `commit` is in this clone's history (a shallow clone may lack it). */
async function checkCommit(commit: string): Promise<void> {
  if ((await gitShow(commit, 'package.json')) === undefined) {
    throw new Error(`commit ${commit.slice(0, 7)} is not in this clone's history`);
  }
}

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

/**
 * The bundles to build: as deployed, naive (see NAIVE), or as deployed with the previous Vault
 * client (PREVIOUS_VAULT_CLIENT).
 */
export type Variant = 'deployed' | 'naive' | 'previous';

async function variantOptions(variant: Variant): Promise<BuildOptions> {
  if (variant === 'naive') return NAIVE;
  const options = await deploymentOptions();
  if (variant === 'deployed') return options;
  await checkCommit(PREVIOUS_VAULT_CLIENT.commit);
  return { ...options, plugins: [vaultClientAt(PREVIOUS_VAULT_CLIENT.commit)] };
}

/** Builds every function's bundle of the variant into `outDir`. */
export async function buildBundles(outDir: string, variant: Variant = 'deployed'): Promise<Bundle[]> {
  const base = await variantOptions(variant);
  const extension = variant === 'naive' ? '.cjs' : '.mjs';
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
