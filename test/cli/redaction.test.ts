import { IAMClient, TagUserCommand } from '@aws-sdk/client-iam';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  SFNClient,
} from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fingerprint, isSecretField, redactDeep } from '../../functions/commons/redact.js';
import { localTarget, readVaultKey, seedUser, type Target } from '../../local-stack/provision.js';
import { prepareTarget } from '../../local-stack/rotation.js';
import { type LocalStack, startLocalStack } from '../../local-stack/stack.js';
import { runCliInProcess } from '../support/cli-in-process.js';
import { backdateKey, operatorEnv } from '../support/local-stack.js';

describe('redactDeep', () => {
  it('masks secret fields, inside JSON strings of history events too, keeping ids and shapes', () => {
    const token = 'AAAAKgAAAAIAAAAAAAAAAQ-fleet-task-token-value';
    const event = {
      type: 'TaskScheduled',
      timestamp: new Date(0),
      taskScheduledEventDetails: {
        parameters: JSON.stringify({
          TaskToken: token,
          Payload: { sealedSecret: { CiphertextBlob: 'Y2lwaGVy' } },
        }),
      },
      executionStartedEventDetails: { input: JSON.stringify({ userName: 'alice', fleetTaskToken: token }) },
      cause: 'vault said no to hvs.CAESIabcdefghijklmnop',
    };
    const redacted = redactDeep(event) as typeof event;
    const text = JSON.stringify(redacted);
    expect(text).not.toContain(token);
    expect(text).not.toContain('Y2lwaGVy');
    expect(text).not.toContain('hvs.CAESIabcdefghijklmnop');
    expect(redacted.timestamp).toEqual(new Date(0));
    expect(JSON.parse(redacted.executionStartedEventDetails.input)).toEqual({
      userName: 'alice',
      fleetTaskToken: fingerprint(token),
    });
    expect(isSecretField('accessKeyId')).toBe(false);
    expect(isSecretField('secretId')).toBe(true);
    expect(isSecretField('X-Vault-Token')).toBe(true);
    // An action's call count is no secret; a secret under a prefixed name is.
    expect(isSecretField('secretsmanager:GetSecretValue', 3)).toBe(false);
    expect(isSecretField('aws:SecretAccessKey', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY')).toBe(true);
    expect(
      redactDeep({ 'vault:token': 'a-vault-token-long-enough', 'secretsmanager:GetSecretValue': 2 }),
    ).toEqual({
      'vault:token': fingerprint('a-vault-token-long-enough'),
      'secretsmanager:GetSecretValue': 2,
    });
    // In free text: Vault tokens old and new, and long base64 runs (task tokens, ciphertexts).
    const taskToken = 'AAAAKgAAAAIAAAAAAAAAA'.padEnd(200, 'x');
    expect(redactDeep({ note: `token s.${'a'.repeat(24)} and ${taskToken}` })).toEqual({
      note: `token ${fingerprint(`s.${'a'.repeat(24)}`)} and ${fingerprint(taskToken)}`,
    });
  });
});

let stack: LocalStack;
let target: Target;

beforeAll(async () => {
  stack = await startLocalStack({ stepFunctions: { waitMs: 0, retryPauseMs: 0 } });
  target = localTarget(stack);
  await prepareTarget(target);
});

afterAll(async () => {
  await stack.close();
});

const cli = (args: string[]) => runCliInProcess(args, { env: operatorEnv(stack) });

const sfn = () =>
  new SFNClient({
    region: stack.aws.region,
    endpoint: stack.aws.endpoint,
    credentials: stack.aws.adminCredentials,
  });

/** Every string under a ciphertext-looking field of a value, going into JSON held in strings. */
function ciphertexts(value: unknown, key = ''): string[] {
  if (typeof value === 'string') {
    if (/sealed|ciphertext/i.test(key)) return [value];
    try {
      return ciphertexts(JSON.parse(value) as unknown);
    } catch {
      return [];
    }
  }
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([k, v]) => ciphertexts(v, k));
}

/** The sealed ciphertexts an execution's raw history carries. */
async function sealedIn(executionArn: string): Promise<string[]> {
  const history = await sfn().send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000 }));
  return ciphertexts(history.events ?? []);
}

describe('--json output carries no secret the run produced', () => {
  it('rotate --wait --json, history --json, rotate-fleet --wait --json and a fleet child history --json', async () => {
    const user = await seedUser(target, 'redact-one');
    const rotated = await cli(['rotate', 'redact-one', '--wait', '--json', '--poll-ms', '50']);
    expect(rotated.code).toBe(0);
    const { executionArn } = JSON.parse(rotated.stdout) as { executionArn: string };
    const history = await cli(['history', 'redact-one', '--json']);
    expect(history.code).toBe(0);

    const iam = new IAMClient({
      region: stack.aws.region,
      endpoint: stack.aws.endpoint,
      credentials: stack.aws.adminCredentials,
    });
    const old = await seedUser(target, 'redact-fleet');
    await iam.send(
      new TagUserCommand({ UserName: 'redact-fleet', Tags: [{ Key: 'team', Value: 'redact' }] }),
    );
    await backdateKey(stack, old.oldAccessKeyId ?? '', new Date('2020-01-01T00:00:00Z'));
    const fleet = await cli([
      'rotate-fleet',
      '--tag',
      'team=redact',
      '--max-key-age-days',
      '30',
      '--wait',
      '--json',
      '--poll-ms',
      '50',
    ]);
    expect(fleet.code).toBe(0);

    // The fleet's child: its input carries the task token that answers the fleet.
    const listed = await sfn().send(new ListExecutionsCommand({ stateMachineArn: stack.stateMachineArn }));
    let childArn = '';
    let fleetTaskToken = '';
    for (const item of listed.executions ?? []) {
      const described = await sfn().send(new DescribeExecutionCommand({ executionArn: item.executionArn }));
      const input = JSON.parse(described.input ?? '{}') as { fleetTaskToken?: string };
      if (input.fleetTaskToken) [childArn, fleetTaskToken] = [item.executionArn ?? '', input.fleetTaskToken];
    }
    expect(fleetTaskToken).not.toBe('');
    const child = await cli(['history', childArn, '--json']);
    expect(child.code).toBe(0);

    const sealed = [...(await sealedIn(executionArn)), ...(await sealedIn(childArn))];
    expect(sealed.length).toBeGreaterThan(0);
    const keys = [await readVaultKey(target, user.vaultPath), await readVaultKey(target, old.vaultPath)];
    const secrets = [
      fleetTaskToken,
      ...sealed,
      stack.vault.rootToken,
      ...keys.map((k) => k?.secretAccessKey ?? 'missing'),
    ];
    expect(secrets).not.toContain('missing');
    for (const run of [rotated, history, fleet, child]) {
      const printed = `${run.stdout}${run.stderr}`;
      for (const secret of secrets) expect(printed).not.toContain(secret);
    }
    // The redaction keeps what tells runs apart: the token's fingerprint, not the token.
    expect(child.stdout).toContain(fingerprint(fleetTaskToken));
  });
});

/** Every value under a secret-looking field of a document, going into the JSON its strings hold. */
function secretFieldValues(value: unknown, key = ''): unknown[] {
  if (isSecretField(key, value)) return [value];
  if (typeof value === 'string') {
    try {
      return secretFieldValues(JSON.parse(value) as unknown);
    } catch {
      return [];
    }
  }
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([k, v]) => secretFieldValues(v, k));
}

describe('npm start -- --json', () => {
  it('prints the rotation with every secret-looking field (the sealed secret in the history) masked', async () => {
    const run = await runCliInProcess(['local', '--json', '--propagation-ms', '0'], { freshModules: true });
    expect(run.code).toBe(0);
    const masked = secretFieldValues(JSON.parse(run.stdout) as unknown);
    // CreateKey's output carries the sealed secret: it is there, as a fingerprint.
    expect(masked.length).toBeGreaterThan(0);
    expect(run.stdout).toContain('sealedSecret');
    for (const value of masked) expect(String(value)).toMatch(/^(sha256:[0-9a-f]{12}|\[REDACTED\])$/);
  });
});
