import { execFile, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { IAMClient } from '@aws-sdk/client-iam';
import { DescribeExecutionCommand, GetExecutionHistoryCommand, SFNClient } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { userStatus, type UserStatus } from '../../cli/status.js';
import { floorTags } from '../../functions/commons/floor-tags.js';
import { DEFAULT_FLOORS } from '../../functions/commons/input.js';
import { localTarget, readVaultKey, seedUser, type Target } from '../../local-stack/provision.js';
import { prepareTarget } from '../../local-stack/rotation.js';
import { type LocalStack, startLocalStack } from '../../local-stack/stack.js';
import { runCliInProcess } from '../support/cli-in-process.js';
import { operatorEnv } from '../support/local-stack.js';

const exec = promisify(execFile);
const BIN = 'bin/iam-key-rotator.mjs';

let stack: LocalStack;
let target: Target;

beforeAll(async () => {
  // Waits scale from the input: --grace 3600 keeps an execution in GracePeriod for 36 s.
  stack = await startLocalStack({ stepFunctions: { waitScale: 0.01, retryPauseMs: 0 } });
  target = localTarget(stack);
  await prepareTarget(target);
});

afterAll(async () => {
  await stack.close();
});

/** The operator's environment: the SDK's default chain pointed at the local stack. */
function env(): NodeJS.ProcessEnv {
  return {
    ...operatorEnv(stack),
    PATH: process.env.PATH,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
}

/**
 * `iam-key-rotator <args>` as its own process, with only the operator's environment: one or more
 * runs of each command (rotate, status, history, stop) keep the bin, exit code and streams real.
 */
async function spawnCli(
  args: string[],
  extraEnv: NodeJS.ProcessEnv = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [BIN, ...args], {
      env: { ...env(), ...extraEnv },
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** The same command run in this process (a spawn pays TypeScript's load): same dispatcher, exit code and streams. */
const cli = (args: string[]) => runCliInProcess(args, { env: env() });

const sfn = () =>
  new SFNClient({
    region: stack.aws.region,
    endpoint: stack.aws.endpoint,
    credentials: stack.aws.adminCredentials,
  });

/** A deployment with other floors: a machine that ends at once, tagged as serverless.yml tags the rotator. */
const deployment = (name: string, tags: Record<string, string>) =>
  stack.aws.stepFunctions.machines.register({
    name,
    definition: JSON.stringify({ StartAt: 'Done', States: { Done: { Type: 'Pass', End: true } } }),
    roleArn: `arn:aws:iam::123456789012:role/${name}`,
    tasks: {},
    tags: () => tags,
    run: async ({ input, onEvent }) => {
      onEvent({ type: 'ExecutionSucceeded', timestamp: Date.now(), output: input });
    },
  });

describe('iam-key-rotator rotate', () => {
  it('--wait follows a rotation to SUCCEEDED (exit 0), riding out throttled polls, and prints no secret', async () => {
    const user = await seedUser(target, 'op-ok');
    // Each poll's DescribeExecution is tried 3 times by the SDK: the first poll fails, the follower backs off.
    stack.traffic.addFault('sfn:DescribeExecution:ThrottlingExceptionx3');
    const { code, stdout, stderr } = await spawnCli([
      'rotate',
      'op-ok',
      '--wait',
      '--endpoint',
      stack.aws.endpoint,
      '--state-machine-arn',
      stack.stateMachineArn,
      '--poll-ms',
      '50',
    ]);
    stack.traffic.clearFaults();

    expect(code).toBe(0);
    expect(stdout).toContain('Rotation SUCCEEDED for op-ok');
    expect(stderr).toMatch(/✓ VerifyKey\s+\d+ ms/);
    expect(stderr).toMatch(/✓ GracePeriod/);
    expect(stderr).toContain('console: https://us-east-1.console.aws.amazon.com/states/');
    const served = await readVaultKey(target, user.vaultPath);
    expect(served?.accessKeyId).not.toBe(user.oldAccessKeyId);
    expect(stdout).toContain(`new key:      ${served?.accessKeyId}`);
    expect(stack.aws.listAccessKeys('op-ok').map((k) => k.accessKeyId)).toEqual([served?.accessKeyId]);
    expect(`${stdout}${stderr}`).not.toContain(served?.secretAccessKey);
  });

  it('--wait ends FAILED (exit 1) with a fault and prints the error and what is left', async () => {
    const user = await seedUser(target, 'op-fail');
    stack.traffic.addFault('vault:kv-write:503x10');
    const { code, stdout, stderr } = await cli(['rotate', 'op-fail', '--wait', '--poll-ms', '50']);
    stack.traffic.clearFaults();

    expect(code).toBe(1);
    expect(stdout).toContain('Rotation FAILED for op-fail');
    expect(stdout).toContain('error:        VaultWriteFailed');
    expect(stdout).toContain(
      'left behind:  New key deleted, Vault serves what it served before, old key untouched.',
    );
    expect(stderr).toMatch(/✗ StoreInVault\s+\d+ ms\s+VaultUnavailableError/);
    expect(stderr).toContain('↻ StoreInVault: retry 1');
    expect(stderr).toContain('↳ StoreInVault: caught');
    expect(stderr).toContain('✗ execution failed: VaultWriteFailed');
    expect(stack.aws.listAccessKeys('op-fail').map((k) => k.accessKeyId)).toEqual([user.oldAccessKeyId]);
  });

  it('--wait --json prints one document: status, error, executionArn, states, history, durationMs', async () => {
    await seedUser(target, 'op-json');
    const { code, stdout } = await cli([
      'rotate',
      'op-json',
      '--wait',
      '--json',
      '--dry-run',
      '--poll-ms',
      '50',
    ]);
    expect(code).toBe(0);
    const doc = JSON.parse(stdout) as Record<string, unknown>;
    expect(Object.keys(doc).sort()).toEqual([
      'durationMs',
      'error',
      'executionArn',
      'history',
      'states',
      'status',
    ]);
    expect(doc).toMatchObject({
      status: 'SUCCEEDED',
      error: null,
      states: ['ValidateInput', 'CreateKey', 'IsDryRun', 'DryRunComplete'],
    });
    expect((doc.history as { type: string }[])[0]?.type).toBe('ExecutionStarted');
  });

  it('refuses bad input with exit 2 before any call', async () => {
    stack.traffic.resetCalls();
    const badUser = await spawnCli(['rotate', 'not a user!', '--wait']);
    const badGrace = await cli(['rotate', 'op-ok', '--grace=-5']);
    const file = join(tmpdir(), `op-input-${process.pid}.json`);
    writeFileSync(file, JSON.stringify({ userName: 'op-ok', vaultPath: '../other', surprise: true }));
    const badFile = await cli(['rotate', '--input', file]);

    for (const result of [badUser, badGrace, badFile]) expect(result.code).toBe(2);
    expect(badUser.stderr).toContain('bad execution input: userName:');
    expect(badGrace.stderr).toContain('--grace must be whole seconds');
    expect(badFile.stderr).toMatch(/vaultPath: .*; input: Unrecognized key: "surprise"/);
    expect(stack.traffic.calls()).toEqual({});
  });

  it('refuses input below the floors the deployment publishes (exit 2), with no StartExecution', async () => {
    await seedUser(target, 'op-floor');
    stack.traffic.resetCalls();
    const low = await cli(['rotate', 'op-floor', '--grace', '0', '--recovery', '60']);
    const atFloor = await cli([
      'rotate',
      'op-floor',
      '--dry-run',
      '--grace',
      '300',
      '--wait',
      '--poll-ms',
      '50',
    ]);
    expect(low.code).toBe(2);
    expect(low.stderr).toContain(
      "invalid execution input: graceSeconds 0 is below this deployment's minGraceSeconds 300; " +
        "recoverySeconds 60 is below this deployment's minRecoverySeconds 3600",
    );
    expect(low.stderr).not.toContain('publishes no floors');
    expect(atFloor.code).toBe(0);
    expect(atFloor.stdout).toContain('op-floor');
    expect(stack.traffic.calls()['sfn:ListTagsForResource']).toBe(2);
    expect(stack.traffic.calls()['sfn:StartExecution']).toBe(1);
  });

  it('refuses --adopt-vault-path (exit 2) where the deployment’s tags say allowVaultPathAdopt is false, starts it where true', async () => {
    const closed = deployment('op-adopt-closed', floorTags(DEFAULT_FLOORS));
    const open = deployment('op-adopt-open', floorTags({ ...DEFAULT_FLOORS, allowVaultPathAdopt: true }));
    stack.traffic.resetCalls();
    const args = [
      'rotate',
      'op-adopt',
      '--vault-path',
      'aws/iam-users/vendors/op-adopt',
      '--adopt-vault-path',
    ];
    const refused = await cli([...args, '--state-machine-arn', closed]);
    const started = await cli([...args, '--state-machine-arn', open]);

    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(
      "invalid execution input: adoptVaultPath is not allowed: this deployment's allowVaultPathAdopt is false",
    );
    expect(started.code).toBe(0);
    expect(started.stdout).toContain(':execution:op-adopt-open:op-adopt-');
    expect(stack.traffic.calls()['sfn:StartExecution']).toBe(1);
  });

  it('starts input the published floors allow, and leaves unpublished floors to the state machine', async () => {
    const open = deployment('op-open-floors', floorTags({ ...DEFAULT_FLOORS, minGraceSeconds: 0 }));
    const untagged = deployment('op-untagged', {});
    stack.traffic.resetCalls();
    const allowed = await cli(['rotate', 'op-floor', '--grace', '0', '--state-machine-arn', open]);
    const unpublished = await cli(['rotate', 'op-floor', '--grace', '0', '--state-machine-arn', untagged]);
    const stillBelow = await cli(['rotate', 'op-floor', '--recovery', '0', '--state-machine-arn', open]);

    expect(allowed.code).toBe(0);
    expect(allowed.stdout).toContain(':execution:op-open-floors:op-floor-');
    expect(allowed.stderr).toBe('');
    expect(unpublished.code).toBe(0);
    expect(unpublished.stderr).toBe(
      'iam-key-rotator: the deployment publishes no floors (minGraceSeconds, minRecoverySeconds, ' +
        'allowOldKeyInUseProceed, allowVaultPathMove, allowVaultPathAdopt, allowDeleteInactiveKey); the state machine will check them\n',
    );
    expect(stillBelow.code).toBe(2);
    expect(stillBelow.stderr).toContain(
      "recoverySeconds 0 is below this deployment's minRecoverySeconds 3600",
    );
    expect(stack.traffic.calls()['sfn:StartExecution']).toBe(2);
  });

  it('names a denied states:ListTagsForResource and exits 3, starting nothing', async () => {
    stack.traffic.resetCalls();
    stack.traffic.addFault('sfn:ListTagsForResource:AccessDeniedException');
    const { code, stderr } = await cli(['rotate', 'op-ok']);
    stack.traffic.clearFaults();
    expect(code).toBe(3);
    expect(stderr).toContain(`not allowed to call states:ListTagsForResource on ${stack.stateMachineArn}`);
    expect(stack.traffic.calls()['sfn:StartExecution']).toBeUndefined();
  });

  it('names the denied action and resource and exits 3 (endpoint from AWS_ENDPOINT_URL_SFN)', async () => {
    stack.traffic.addFault('sfn:StartExecution:AccessDeniedException');
    const { code, stderr } = await spawnCli(['rotate', 'op-ok'], {
      AWS_ENDPOINT_URL: undefined,
      AWS_ENDPOINT_URL_SFN: stack.aws.endpoint,
    });
    stack.traffic.clearFaults();
    expect(code).toBe(3);
    expect(stderr).toContain(`not allowed to call states:StartExecution on ${stack.stateMachineArn}`);
  });

  it('Ctrl-C stops following, not the execution, and says how to follow again', async () => {
    await seedUser(target, 'op-int');
    const child = spawn(
      process.execPath,
      [BIN, 'rotate', 'op-int', '--grace', '3600', '--wait', '--poll-ms', '50'],
      {
        env: env(),
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    await new Promise<void>((resolve) => {
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        // VerifyKey is done and HasOldKeys chose GracePeriod: the execution now waits 36 s.
        if (stderr.includes('✓ HasOldKeys')) resolve();
      });
    });
    child.kill('SIGINT');

    expect(await exited).toBe(130);
    const executionArn = /rotating op-int: (\S+)/.exec(stderr)?.[1] ?? '';
    expect(stderr).toContain(
      `stopped following; the execution goes on. Follow it again: iam-key-rotator history ${executionArn} --follow`,
    );
    const described = await sfn().send(new DescribeExecutionCommand({ executionArn }));
    expect(described.status).toBe('RUNNING');
    const stopped = await cli(['stop', executionArn, '--json']);
    expect(JSON.parse(stopped.stdout)).toMatchObject({
      executionArn,
      states: expect.arrayContaining(['GracePeriod']),
    });
  });

  it('without --wait prints the execution ARN and its console link', async () => {
    const { code, stdout } = await cli(['rotate', 'op-json', '--dry-run', '--name', 'op-json-started']);
    expect(code).toBe(0);
    const [arn, link] = stdout.trim().split('\n');
    expect(arn).toBe(`${stack.stateMachineArn.replace(':stateMachine:', ':execution:')}:op-json-started`);
    expect(link).toBe(
      `https://us-east-1.console.aws.amazon.com/states/home?region=us-east-1#/v2/executions/details/${arn}`,
    );
  });
});

describe('iam-key-rotator status, history, stop', () => {
  it('status reports the last execution after a success and after a failure', async () => {
    const { code, stdout } = await spawnCli(['status', 'op-ok', 'op-fail', '--json']);
    const { users } = JSON.parse(stdout) as { users: UserStatus[] };
    expect(code).toBe(0);
    expect(users[0]).toMatchObject({
      user: 'op-ok',
      keys: [{ status: 'Active', ageDays: 0 }],
      lastExecution: {
        status: 'SUCCEEDED',
        executionArn: expect.stringContaining(':execution:iam-key-rotator-local:op-ok-'),
      },
      flags: [],
    });
    expect(users[1]).toMatchObject({
      user: 'op-fail',
      lastExecution: { status: 'FAILED', error: 'VaultWriteFailed', stopDate: expect.any(String) },
      flags: [],
    });
    const table = await cli(['status']);
    expect(table.stdout).toMatch(/^USER\s+KEYS\s+LAST EXECUTION\s+FLAGS/);
    expect(table.stdout).toMatch(/op-fail\s+AKIA\w+ Active 0d\s+FAILED VaultWriteFailed /);
  });

  it('status flags a last execution that left something behind (RollbackFailed)', async () => {
    await seedUser(target, 'op-rollback');
    // Vault refuses the write, then IAM refuses to delete the new key: the rollback stops, keeping both keys.
    stack.traffic.addFault('vault:kv-write:503x10');
    stack.traffic.addFault('iam:DeleteAccessKey:AccessDeniedx10');
    const rotated = await cli(['rotate', 'op-rollback', '--wait', '--poll-ms', '50']);
    stack.traffic.clearFaults();
    expect(rotated.code).toBe(1);
    expect(rotated.stdout).toContain('error:        RollbackFailed');
    expect(rotated.stdout).toContain('left behind:  Stopped where nobody loses access');

    const { code, stdout } = await cli(['status', 'op-rollback', '--json']);
    expect(code).toBe(1);
    expect((JSON.parse(stdout) as { users: UserStatus[] }).users[0]).toMatchObject({
      lastExecution: { status: 'FAILED', error: 'RollbackFailed' },
      flags: ['two-active-keys', 'left-behind'],
    });
  });

  it('status flags a key older than the maximum age, and two Active keys', async () => {
    const iam = new IAMClient({
      region: stack.aws.region,
      endpoint: stack.aws.endpoint,
      credentials: stack.aws.adminCredentials,
    });
    const later = Date.now() + 91 * 86_400_000;
    expect((await userStatus(iam, sfn(), 'op-ok', 90, later)).flags).toEqual(['old-key']);
    await seedUser(target, 'op-two', { keys: 2 });
    const { code, stdout } = await cli(['status', 'op-two', '--json']);
    expect(code).toBe(1);
    expect((JSON.parse(stdout) as { users: UserStatus[] }).users[0]?.flags).toEqual(['two-active-keys']);
  });

  it('history shows a user latest execution with its failures, retries and catch', async () => {
    const text = await spawnCli(['history', 'op-fail']);
    expect(text.code).toBe(1);
    expect(text.stdout).toContain('↻ StoreInVault: retry 1');
    expect(text.stdout).toContain('✓ RestoreVault');
    expect(text.stdout).toContain('error:        VaultWriteFailed');
    const json = await cli(['history', 'op-fail', '--json']);
    const doc = JSON.parse(json.stdout) as { states: string[]; status: string };
    expect(doc.status).toBe('FAILED');
    expect(doc.states).toEqual(
      expect.arrayContaining([
        'StoreInVault',
        'VaultWriteFailedRollback',
        'RestoreVault',
        'DiscardNewKey',
        'VaultWriteFailed',
      ]),
    );
  });

  it('stop on an execution in its grace wait ends it ABORTED, with both keys Active and the new key in Vault', async () => {
    const user = await seedUser(target, 'op-stop');
    const started = await cli(['rotate', 'op-stop', '--grace', '3600', '--json']);
    const { executionArn } = JSON.parse(started.stdout) as { executionArn: string };
    for (;;) {
      const { events } = await sfn().send(
        new GetExecutionHistoryCommand({ executionArn, reverseOrder: true, maxResults: 1 }),
      );
      if (events?.[0]?.type === 'WaitStateEntered') break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const { code, stdout } = await spawnCli(['stop', 'op-stop', '--reason', 'operator test']);

    expect(code).toBe(0);
    expect(stdout).toContain(`Stopped ${executionArn} in GracePeriod`);
    expect(stdout).toContain(
      'left behind:  The new key is in Vault and verified; the old key is still Active',
    );
    const described = await sfn().send(new DescribeExecutionCommand({ executionArn }));
    expect(described).toMatchObject({
      status: 'ABORTED',
      error: 'StoppedByOperator',
      cause: 'operator test',
    });
    const keys = stack.aws.listAccessKeys('op-stop');
    expect(keys.map((k) => k.status)).toEqual(['Active', 'Active']);
    const served = await readVaultKey(target, user.vaultPath);
    expect(served?.accessKeyId).not.toBe(user.oldAccessKeyId);
    expect(keys.map((k) => k.accessKeyId)).toContain(served?.accessKeyId);
    const again = await cli(['stop', executionArn]);
    expect(again.stdout).toContain('already ended: ABORTED');
  });
});
