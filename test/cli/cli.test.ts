import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { ListUsersCommand, IAMClient } from '@aws-sdk/client-iam';
import axios from 'axios';
import { describe, expect, it } from 'vitest';
import { runCliInProcess } from '../support/cli-in-process.js';
import { writeCalls } from '../support/tags.js';

const run = promisify(execFile);
const BIN = 'bin/iam-key-rotator.mjs';

interface Report {
  status: string;
  error: { Error: string; Cause: string } | null;
  user: string;
  states: string[];
  history: { type: string }[];
  before: {
    accessKeys: { accessKeyId: string; status: string }[];
    vault: { accessKeyId: string; version: number } | null;
  };
  after: {
    accessKeys: { accessKeyId: string; status: string }[];
    vault: { accessKeyId: string; version: number } | null;
  };
  calls: Record<string, number>;
  durationMs: number;
}

/** Retries in a Step Functions history: Lambda attempts beyond each Task state's first. */
const retries = (history: { type: string }[]): number =>
  history.filter((e) => e.type === 'LambdaFunctionScheduled').length -
  history.filter((e) => e.type === 'TaskStateEntered').length;

/** `iam-key-rotator local --json <args>` as its own process: the exit code and streams a shell sees. */
async function spawnLocal(args: string[]): Promise<{ code: number; report: Report; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, 'local', '--json', ...args], {
      timeout: 60_000,
    });
    return { code: 0, report: JSON.parse(stdout) as Report, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, report: JSON.parse(e.stdout) as Report, stderr: e.stderr };
  }
}

/**
 * The same run in this process (each spawn pays a second of TypeScript loading): the same
 * dispatcher, exit code and streams, its own stack and freshly loaded handlers as a new process.
 * Real processes stay where the boundary is the point: the first run (exit 0), `npm start` (exit 1),
 * the --adopt-vault-path refusal (exit 2, nothing on stdout) and `stack` (SIGTERM).
 */
async function local(args: string[]): Promise<{ code: number; report: Report; stderr: string }> {
  const { code, stdout, stderr } = await runCliInProcess(['local', '--json', ...args], {
    freshModules: true,
  });
  return { code, report: JSON.parse(stdout) as Report, stderr };
}

/** `iam-key-rotator <args>` in this process, for the refusals that end before anything starts. */
const cli = (args: string[], env: NodeJS.ProcessEnv = {}) => runCliInProcess(args, { env });

describe('iam-key-rotator local --json', () => {
  it('prints one JSON document of a successful rotation and exits 0', async () => {
    const { code, report, stderr } = await spawnLocal(['--user', 'cli-demo', '--propagation-ms', '300']);

    expect(code).toBe(0);
    expect(report.status).toBe('SUCCEEDED');
    expect(report.error).toBeNull();
    expect(report.user).toBe('cli-demo');
    expect(report.states.at(-1)).toBe('Rotated');
    expect(retries(report.history)).toBeGreaterThan(0);
    const oldKey = report.before.vault?.accessKeyId;
    expect(report.before.accessKeys.map((k) => k.accessKeyId)).toEqual([oldKey]);
    expect(report.after.accessKeys).toEqual([
      expect.objectContaining({ accessKeyId: report.after.vault?.accessKeyId, status: 'Active' }),
    ]);
    expect(report.after.vault?.accessKeyId).not.toBe(oldKey);
    expect(report.calls).toMatchObject({ 'iam:CreateAccessKey': 1, 'vault:kv-write': 1, 'kms:Encrypt': 1 });
    expect(report.durationMs).toBeGreaterThan(0);
    expect(stderr).toContain('VerifyKey');
  });

  it('reports FAILED and exits 1 when Vault refuses every write, with the old key still in place', async () => {
    const { code, report } = await local(['--fault', 'vault:kv-write:503x10', '--propagation-ms', '0']);

    expect(code).toBe(1);
    expect(report.status).toBe('FAILED');
    expect(report.error?.Error).toBe('VaultWriteFailed');
    expect(report.after.accessKeys).toEqual(report.before.accessKeys);
    expect(report.after.vault).toEqual(report.before.vault);
  });

  it('rides out three STS refusals (at Vault login and at verification) and succeeds', async () => {
    const { code, report } = await local([
      '--fault',
      'sts:GetCallerIdentity:InvalidClientTokenIdx3',
      '--propagation-ms',
      '0',
    ]);

    expect(code).toBe(0);
    expect(report.status).toBe('SUCCEEDED');
    expect(retries(report.history)).toBe(3);
  });

  it('runs KV v1 with AppRole auth in a namespace', async () => {
    const { code, report } = await local([
      '--kv-version',
      '1',
      '--vault-auth',
      'approle',
      '--vault-namespace',
      'team-a',
      '--propagation-ms',
      '0',
    ]);

    expect(code).toBe(0);
    expect(report.status).toBe('SUCCEEDED');
    expect(report.calls['secretsmanager:GetSecretValue']).toBe(1);
    expect(report.after.vault?.accessKeyId).not.toBe(report.before.vault?.accessKeyId);
  });

  it('refuses a malformed fault spec with exit code 2', async () => {
    expect(await cli(['local', '--fault', 'nope'])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('invalid fault spec'),
    });
  });
});

describe('iam-key-rotator local --input', () => {
  /** Calls that change something: none may happen when the input is refused. */
  const writes = (calls: Record<string, number>) =>
    Object.keys(calls).filter((call) => /Create|Delete|Update|TagUser|Encrypt|kv-write|kv-delete/.test(call));

  it('npm start -- --json --input {"vaultPath":"aws/iam-users/elsewhere"} ends FAILED InvalidInputError with zero write calls', async () => {
    // Issue 16: the demo user's key is served at its default path; nothing proves its consumers read
    // another (empty) path, so CreateKey refuses before any write (the adoption rule).
    const input = '{"vaultPath":"aws/iam-users/elsewhere"}';
    const { stdout } = await run('npm', ['start', '--silent', '--', '--json', '--input', input], {
      timeout: 60_000,
    }).catch((error: { code: number; stdout: string }) => {
      expect(error.code).toBe(1);
      return error;
    });
    const report = JSON.parse(stdout) as Report;

    expect(report.status).toBe('FAILED');
    expect(report.error?.Error).toBe('InvalidInputError');
    expect(report.error?.Cause).toContain('vaultPath aws/iam-users/elsewhere serves no key');
    expect(report.states).toEqual(['ValidateInput', 'CreateKey', 'DiscardLeftovers', 'CreateKeyFailed']);
    expect(writeCalls(report.calls)).toEqual([]);
    expect(report.after).toEqual(report.before);
  });

  it('refuses {"graceSeconds":0} below the deployment floor with InvalidInputError and zero write calls', async () => {
    const { code, report } = await local(['--input', '{"graceSeconds":0}', '--propagation-ms', '0']);

    expect(code).toBe(1);
    expect(report.error?.Error).toBe('InvalidInputError');
    expect(report.error?.Cause).toContain("graceSeconds 0 is below this deployment's minGraceSeconds 300");
    expect(report.states).toEqual(['ValidateInput', 'InputRejected']);
    expect(writes(report.calls)).toEqual([]);
    expect(report.calls).toEqual({});
    expect(report.after).toEqual(report.before);
  });

  it('runs the same input to success in a deployment whose floors allow it', async () => {
    const { code, report } = await local([
      '--input',
      '{"graceSeconds":0,"recoverySeconds":0,"oldKeyInUse":"proceed"}',
      '--min-grace-seconds',
      '0',
      '--min-recovery-seconds',
      '0',
      '--allow-old-key-in-use-proceed',
      '--propagation-ms',
      '0',
    ]);

    expect(code).toBe(0);
    expect(report.status).toBe('SUCCEEDED');
    expect(report.states.at(-1)).toBe('Rotated');
  });

  it.each([
    ['--allow-delete-inactive-key', 'allowDeleteInactiveKey', '{"deleteInactiveKey":true}'],
    [
      '--allow-vault-path-move',
      'allowVaultPathMove',
      '{"userName":"cli-move","vaultPath":"aws/iam-users/cli-move/v2","moveVaultPath":true}',
    ],
    [
      '--allow-vault-path-adopt',
      'allowVaultPathAdopt',
      '{"userName":"cli-adopt","vaultPath":"aws/iam-users/cli-adopt/v2","adoptVaultPath":true}',
    ],
  ])(
    'lets %s set the deployment’s %s: refused without it, SUCCEEDED with it',
    async (option, flag, input) => {
      const refused = await local(['--input', input, '--propagation-ms', '0']);
      expect(refused.code).toBe(1);
      expect(refused.report.error?.Cause).toContain(`this deployment's ${flag} is false`);
      expect(refused.report.calls).toEqual({});

      const allowed = await local(['--input', input, option, '--propagation-ms', '0']);
      expect(allowed.code).toBe(0);
      expect(allowed.report.states.at(-1)).toBe('Rotated');
    },
  );

  it('refuses --adopt-vault-path with exit 2 before starting anything, unless --allow-vault-path-adopt', async () => {
    const refused = await run(process.execPath, [BIN, 'local', '--adopt-vault-path'], {
      timeout: 60_000,
    }).catch((error: { code: number; stdout: string; stderr: string }) => error);
    expect('code' in refused ? refused.code : 0).toBe(2);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toContain(
      "adoptVaultPath is not allowed: this deployment's allowVaultPathAdopt is false (--allow-vault-path-adopt)",
    );
  });

  it('sets adoptVaultPath in the input with --adopt-vault-path, run to success where the deployment allows it', async () => {
    const { code, report } = await local([
      '--input',
      '{"userName":"cli-adopt-flag","vaultPath":"aws/iam-users/cli-adopt-flag/v2"}',
      '--adopt-vault-path',
      '--allow-vault-path-adopt',
      '--propagation-ms',
      '0',
    ]);
    expect(code).toBe(0);
    expect(report.states.at(-1)).toBe('Rotated');
  });

  it.each(['"rotate ci please"', '[{"userName":"ci"}]', '42', 'null'])(
    'passes the non-object input %s to ValidateInput, which refuses it cleanly',
    async (input) => {
      const { code, report } = await local(['--input', input, '--propagation-ms', '0']);

      expect(code).toBe(1);
      expect(report.error?.Error).toBe('InvalidInputError');
      expect(report.states).toEqual(['ValidateInput', 'InputRejected']);
      expect(report.calls).toEqual({});
    },
  );

  it('reads the input from @file, and creates the demo user it names', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'iam-key-rotator-input-'));
    try {
      const file = join(dir, 'input.json');
      await writeFile(file, JSON.stringify({ userName: 'cli-from-file', dryRun: true }));
      const { code, report } = await local(['--input', `@${file}`, '--propagation-ms', '0']);

      expect(code).toBe(0);
      expect(report.user).toBe('cli-from-file');
      expect(report.states.at(-1)).toBe('DryRunComplete');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses input that is not JSON with exit code 2', async () => {
    expect(await cli(['local', '--input', '{graceSeconds:0}'])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('--input is not JSON'),
    });
  });
});

describe('iam-key-rotator local against a real Vault', () => {
  it('takes the Vault token from VAULT_TOKEN only, never from the command line', async () => {
    const env = { VAULT_TOKEN: undefined };
    expect(await cli(['local', '--vault-addr', 'https://127.0.0.1:9'], env)).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('VAULT_TOKEN'),
    });
    expect(
      await cli(['local', '--vault-addr', 'https://127.0.0.1:9', '--vault-token', 'x'], env),
    ).toMatchObject({ code: 2, stderr: expect.stringContaining("Unknown option '--vault-token'") });
  });
});

describe('iam-key-rotator stack', () => {
  it('prints its endpoints and admin credentials as one JSON line, serves them, and stops on SIGTERM', async () => {
    const child = spawn(process.execPath, [BIN, 'stack'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    try {
      const line = await new Promise<string>((resolve, reject) => {
        createInterface({ input: child.stdout }).once('line', resolve);
        child.once('exit', () => reject(new Error('stack exited before it was ready')));
      });
      const ready = JSON.parse(line) as Record<string, string>;
      expect(Object.keys(ready).sort()).toEqual(
        [
          'accessKeyId',
          'awsEndpoint',
          'region',
          'secretAccessKey',
          'vaultAddr',
          'vaultToken',
          'stepFunctionsEndpoint',
          'stateMachineArn',
          'demoUser',
        ].sort(),
      );
      const iam = new IAMClient({
        region: ready.region,
        endpoint: ready.awsEndpoint,
        credentials: { accessKeyId: ready.accessKeyId ?? '', secretAccessKey: ready.secretAccessKey ?? '' },
      });
      const users = await iam.send(new ListUsersCommand({}));
      expect(users.Users?.map((u) => u.UserName)).toContain('local-admin');
      const health = await axios.get(`${ready.vaultAddr}/v1/sys/health`);
      expect(health.data).toMatchObject({ sealed: false });
      // What the README shows: rotate the demo user by hand through the stack's Step Functions endpoint.
      const { stdout } = await run(
        process.execPath,
        [
          BIN,
          'rotate',
          ready.demoUser ?? '',
          '--wait',
          '--poll-ms',
          '100',
          '--endpoint',
          ready.stepFunctionsEndpoint ?? '',
          '--state-machine-arn',
          ready.stateMachineArn ?? '',
        ],
        {
          env: {
            PATH: process.env.PATH,
            AWS_REGION: ready.region,
            AWS_ACCESS_KEY_ID: ready.accessKeyId,
            AWS_SECRET_ACCESS_KEY: ready.secretAccessKey,
          },
          timeout: 60_000,
        },
      );
      expect(stdout).toContain(`Rotation SUCCEEDED for ${ready.demoUser}`);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });
});
