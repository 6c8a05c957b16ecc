import { execFile, spawn, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConsumerPackage } from '../../scripts/build-consumer.js';
import { type ConsumerCall, consumerToken } from '../support/consumer.js';
import { useLocalStack } from '../support/local-stack.js';

// The consumers' package as a consumer gets it: built, packed with npm, installed into an empty folder.
const run = promisify(execFile);
const REFRESH_SECONDS = 2;
const ctx = useLocalStack({
  env: {
    ROTATOR_MIN_GRACE_SECONDS: '1',
    ROTATOR_MIN_RECOVERY_SECONDS: '1',
    ROTATOR_IN_USE_MARGIN_SECONDS: String(REFRESH_SECONDS + 2),
  },
});

let work = '';
let app = '';
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'consumer-package-'));
  const built = await buildConsumerPackage(join(work, 'package'));
  await run('npm', ['pack', '--silent', '--pack-destination', work], { cwd: built });
  const tarball = (await readdir(work)).find((name) => name.endsWith('.tgz'));
  if (!tarball) throw new Error('npm pack wrote no tarball');
  app = join(work, 'app');
  await mkdir(app);
  await run('npm', ['install', '--offline', '--no-audit', '--no-fund', join(work, tarball)], { cwd: app });
}, 120_000);
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/** The consumer's environment: a Vault token of its own, no AWS credentials of the test process. */
function consumerEnv(token: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: work,
    VAULT_ADDR: ctx.target.vault.addr,
    VAULT_TOKEN: token,
    ...extra,
  };
}

const installedBin = () => join(app, 'node_modules/.bin/iam-key-rotator');

describe('the packed package installed into an empty folder', () => {
  it('holds the bundles, declarations and manifest only, and no dependencies', async () => {
    const installed = join(app, 'node_modules');
    expect((await readdir(installed)).filter((name) => !name.startsWith('.'))).toEqual(['iam-key-rotator']);
    expect((await readdir(join(installed, 'iam-key-rotator'))).sort()).toEqual([
      'README.md',
      'bin',
      'credentials.d.ts',
      'credentials.mjs',
      'package.json',
    ]);
  });

  it('runs `iam-key-rotator credentials` against the local stack', async () => {
    const user = await ctx.seed('packaged-cli');
    const token = await consumerToken(ctx.target, user.vaultPath);
    const { stdout, stderr } = await run(installedBin(), ['credentials', '--vault-path', user.vaultPath], {
      cwd: app,
      env: consumerEnv(token),
    });
    expect(stderr).toBe('');
    const document = JSON.parse(stdout) as Record<string, unknown>;
    const served = await ctx.vaultKey(user);
    expect(Object.keys(document).sort()).toEqual(['AccessKeyId', 'Expiration', 'SecretAccessKey', 'Version']);
    expect(document).toMatchObject({ Version: 1, ...{ AccessKeyId: served?.accessKeyId } });
    expect(document.SecretAccessKey).toBe(served?.secretAccessKey);
    const expiresIn = Date.parse(String(document.Expiration)) - Date.now();
    expect(expiresIn).toBeGreaterThan(290_000);
    expect(expiresIn).toBeLessThanOrEqual(300_000);
  });

  it('exports fromVault as iam-key-rotator/credentials, with its declarations', async () => {
    const user = await ctx.seed('packaged-provider');
    const token = await consumerToken(ctx.target, user.vaultPath);
    const script =
      "const { fromVault } = await import('iam-key-rotator/credentials');" +
      `const key = await fromVault({ vaultPath: ${JSON.stringify(user.vaultPath)}, refresh: 60 })();` +
      'console.log(JSON.stringify({ id: key.accessKeyId, expiresIn: key.expiration - Date.now() }));';
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
      cwd: app,
      env: consumerEnv(token),
    });
    const answer = JSON.parse(stdout) as { id: string; expiresIn: number };
    expect(answer.id).toBe((await ctx.vaultKey(user))?.accessKeyId);
    expect(answer.expiresIn).toBeGreaterThan(55_000);

    // A TypeScript consumer compiles against the packed declarations alone.
    await writeFile(
      join(app, 'consumer.ts'),
      "import { fromVault, type CredentialOptions } from 'iam-key-rotator/credentials';\n" +
        "const options: CredentialOptions = { vaultPath: 'aws/iam-users/ci', auth: { method: 'aws', role: 'ci' } };\n" +
        'export const provider = fromVault(options);\n',
    );
    const tsc = fileURLToPath(new URL('../../node_modules/typescript/bin/tsc', import.meta.url));
    const check = spawnSync(
      process.execPath,
      [tsc, '--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', 'consumer.ts'],
      { cwd: app, encoding: 'utf8' },
    );
    expect(check.stdout + check.stderr).toBe('');
    expect(check.status).toBe(0);
  });
});

const PYTHON = spawnSync('python3', ['-c', 'import boto3'], { stdio: 'ignore' }).status === 0;
const SKIPPED =
  'boto3 credential_process check skipped: python3 with boto3 is not installed (pip install boto3)';

describe.skipIf(!PYTHON)(PYTHON ? 'boto3 with a credential_process profile' : SKIPPED, () => {
  it('calls STS every 100 ms through a rotation whose grace is twice the refresh without a failure', async () => {
    const user = await ctx.seed('boto3-consumer');
    const token = await consumerToken(ctx.target, user.vaultPath);
    const config = join(work, 'aws-config');
    await writeFile(
      config,
      `[profile consumer]\nregion = ${ctx.target.aws.region}\n` +
        `credential_process = ${installedBin()} credentials --vault-path ${user.vaultPath} --refresh ${REFRESH_SECONDS}\n`,
    );
    const python = spawn(
      'python3',
      [fileURLToPath(new URL('../support/python-consumer.py', import.meta.url))],
      {
        env: consumerEnv(token, {
          AWS_CONFIG_FILE: config,
          AWS_SHARED_CREDENTIALS_FILE: join(work, 'no-credentials'),
          AWS_PROFILE: 'consumer',
          AWS_ENDPOINT_URL: ctx.target.aws.endpoint ?? '',
          AWS_EC2_METADATA_DISABLED: 'true',
        }),
        stdio: ['pipe', 'pipe', 'inherit'],
      },
    );
    const calls: ConsumerCall[] = [];
    const ready = new Promise<void>((resolve) => {
      createInterface({ input: python.stdout }).on('line', (line) => {
        const parsed = JSON.parse(line) as { ready?: boolean } & ConsumerCall & { error: string | null };
        if (parsed.ready) return resolve();
        calls.push({ at: parsed.at, keyId: parsed.keyId, ...(parsed.error ? { error: parsed.error } : {}) });
      });
    });
    const exited = new Promise((resolve) => python.on('exit', resolve));
    await ready;
    await new Promise((resolve) => setTimeout(resolve, 500));

    const report = await ctx.rotate(user, {
      input: { userName: user.userName, graceSeconds: 2 * REFRESH_SECONDS, recoverySeconds: 1 },
      waitMs: {},
    });
    await new Promise((resolve) => setTimeout(resolve, 1000));
    python.stdin.end();
    await exited;

    expect(report.status).toBe('SUCCEEDED');
    const newKeyId = (await ctx.vaultKey(user))?.accessKeyId;
    expect(calls.filter((call) => call.error)).toEqual([]);
    expect(calls[0]?.keyId).toBe(user.oldAccessKeyId);
    expect(calls.at(-1)?.keyId).toBe(newKeyId);
    expect(report.after.accessKeys.map((k) => k.accessKeyId)).toEqual([newKeyId]);
  });
});
