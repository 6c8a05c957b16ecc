// `npm run build:consumer`: the consumers' package in dist/consumer/, installable where consumers run
// (CI runners, on-prem jobs) with nothing but Node: the `iam-key-rotator credentials` command and the
// `iam-key-rotator/credentials` export (fromVault), each one bundled file, no dependencies.
// `npm pack ./dist/consumer` makes the tarball; docs/consumers.md says how to install it.
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { generateDtsBundle } from 'dts-bundle-generator';
import { build, type BuildOptions } from 'esbuild';

const ROOT = new URL('..', import.meta.url).pathname;
export const CONSUMER_DIR = join(ROOT, 'dist/consumer');

const BUNDLE: BuildOptions = {
  bundle: true,
  format: 'esm',
  platform: 'node',
  // The package's `engines`: the oldest Node the command runs on.
  target: 'node20',
  minify: true,
  // Error classes set `name` from their class name: what callers and the one-line reason show.
  keepNames: true,
  legalComments: 'eof',
  // ESM builds first: the SDK's dist-es tree-shakes better than its CommonJS build.
  mainFields: ['module', 'main'],
  alias: {
    // axios' multipart support, never used here: Node's FormData instead of form-data and mime-db.
    'form-data': join(ROOT, 'functions/commons/vault/form-data-shim.ts'),
  },
  // ESM bundles of CommonJS dependencies need a require of their own.
  banner: { js: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);" },
  absWorkingDir: ROOT,
  logLevel: 'warning',
};

const README = `# iam-key-rotator (consumers)

The key an IAM user's consumers use, read from where [iam-key-rotator](https://github.com/iam-key-rotator/iam-key-rotator)
serves it in Vault, again every \`refresh\` seconds: a consumer never misses a rotation.

- \`iam-key-rotator credentials --vault-path PATH\` prints a \`credential_process\` document
  (\`iam-key-rotator credentials --help\`). In \`~/.aws/config\`:

  \`\`\`ini
  [profile ci]
  credential_process = iam-key-rotator credentials --vault-path aws/iam-users/ci-deployer
  \`\`\`

- \`import { fromVault, refreshOnAuthError } from 'iam-key-rotator/credentials'\`: a credential provider
  for AWS SDK for JavaScript v3 with the same options.

Needs Node 20.19 or later and nothing else. Choose the rotation's \`graceSeconds\` of at least the
refresh plus clock skew (docs/consumers.md in the repository).
`;

/** The package.json of the consumers' package: the repository's name, version and licence. */
async function manifest(): Promise<Record<string, unknown>> {
  const root = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as Record<string, unknown>;
  return {
    name: root.name,
    version: root.version,
    description:
      'Read the IAM access key iam-key-rotator keeps in Vault: a credential_process command and an AWS SDK v3 credential provider.',
    license: root.license,
    type: 'module',
    engines: root.engines,
    bin: { 'iam-key-rotator': './bin/iam-key-rotator.mjs' },
    exports: {
      './credentials': { types: './credentials.d.ts', default: './credentials.mjs' },
      './package.json': './package.json',
    },
    files: ['bin/', 'credentials.mjs', 'credentials.d.ts'],
  };
}

/** Builds the package into `dir` (default dist/consumer/) and returns its directory. */
export async function buildConsumerPackage(dir = CONSUMER_DIR): Promise<string> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(join(dir, 'bin'), { recursive: true });
  await build({
    ...BUNDLE,
    entryPoints: [join(ROOT, 'consumer/bin.ts')],
    outfile: join(dir, 'bin/iam-key-rotator.mjs'),
    banner: { js: `#!/usr/bin/env node\n${BUNDLE.banner?.js ?? ''}` },
  });
  await build({
    ...BUNDLE,
    entryPoints: [join(ROOT, 'consumer/index.ts')],
    outfile: join(dir, 'credentials.mjs'),
  });
  const [types] = generateDtsBundle(
    [{ filePath: join(ROOT, 'consumer/index.ts'), output: { noBanner: true } }],
    {
      preferredConfigPath: join(ROOT, 'tsconfig.json'),
    },
  );
  await writeFile(join(dir, 'credentials.d.ts'), types ?? '');
  await writeFile(join(dir, 'package.json'), `${JSON.stringify(await manifest(), null, 2)}\n`);
  await writeFile(join(dir, 'README.md'), README);
  return dir;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const dir = await buildConsumerPackage();
  process.stdout.write(`built ${dir} (npm pack ./dist/consumer makes the tarball)\n`);
}
