// A transient failure while an account is listed is tried again, as the rotation's own steps try
// Vault again: one Vault 503 on one user's placement must not cost the whole account its run.
import { IAMClient, ListAccessKeysCommand } from '@aws-sdk/client-iam';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FleetSummary } from '../../functions/summarizeFleet.js';
import { localTarget, type Target } from '../../local-stack/provision.js';
import { prepareTarget } from '../../local-stack/rotation.js';
import { type LocalStack, startLocalStack } from '../../local-stack/stack.js';
import { accountUser, settled, TAG_KEY } from './support.js';

let stack: LocalStack;
let target: Target;
let sfn: SFNClient;

beforeAll(async () => {
  stack = await startLocalStack({ stepFunctions: { waitMs: 0, retryPauseMs: 0 } });
  process.env.VAULT_PATH_TEMPLATE = '{prefix}{accountId}/{userName}';
  process.env.ROTATOR_ACCOUNT_ID = stack.aws.accountId;
  target = localTarget(stack);
  await prepareTarget(target);
  sfn = new SFNClient({
    region: stack.aws.region,
    endpoint: stack.aws.endpoint,
    credentials: stack.aws.adminCredentials,
  });
});

afterAll(async () => {
  await stack.close();
});

describe('a fleet whose listing meets a transient failure', () => {
  it.each(['vault:kv-read:503', 'vault:kv-read:429'])(
    '%s while a due user is placed: listCandidates tries the account again, every due user rotated',
    async (fault) => {
      const tag = fault.replaceAll(':', '-');
      const home = stack.aws.accountId;
      await accountUser({ stack, target }, home, `${tag}-a`, { tag, ageDays: 120 });
      await accountUser({ stack, target }, home, `${tag}-b`, { tag, ageDays: 121 });
      stack.traffic.clearFaults();
      stack.traffic.addFault(fault);
      try {
        const { executionArn = '' } = await sfn.send(
          new StartExecutionCommand({
            stateMachineArn: stack.fleetStateMachineArn,
            input: JSON.stringify({ tagKey: TAG_KEY, tagValue: tag }),
          }),
        );
        const run = await settled(sfn, executionArn);
        expect(run.cause ?? '').toBe('');
        expect(run.status).toBe('SUCCEEDED');
        const summary = JSON.parse(run.output ?? '{}') as FleetSummary;
        expect(summary.counts).toMatchObject({ rotated: 2, failed: 0 });
        expect(summary.accountCounts).toEqual({ listed: 1, failed: 0 });
        expect(stack.traffic.describe()[0]?.fired).toBe(1);
      } finally {
        stack.traffic.clearFaults();
      }
    },
    60_000,
  );

  it('Vault failing past the retries: the account is reported failed with Vault’s answer, its users untouched', async () => {
    const home = stack.aws.accountId;
    const user = await accountUser({ stack, target }, home, 'vault-down', {
      tag: 'vault-down',
      ageDays: 120,
    });
    stack.traffic.clearFaults();
    stack.traffic.addFault('vault:kv-read:503x100');
    try {
      const { executionArn = '' } = await sfn.send(
        new StartExecutionCommand({
          stateMachineArn: stack.fleetStateMachineArn,
          input: JSON.stringify({ tagKey: TAG_KEY, tagValue: 'vault-down' }),
        }),
      );
      const run = await settled(sfn, executionArn);
      expect(run.status).toBe('FAILED');
      expect(run.error).toBe('FleetRotationIncomplete');
      expect(run.cause).toContain(`${home} (VaultUnavailableError: Vault GET `);
      expect(run.cause).toContain('failed (HTTP 503)');
      // Tried as often as the state's Retry allows (5 attempts), then given up.
      expect(stack.traffic.describe()[0]?.fired).toBe(5);
    } finally {
      stack.traffic.clearFaults();
    }
    const keys = await new IAMClient({
      region: stack.aws.region,
      endpoint: stack.aws.endpoint,
      credentials: stack.aws.adminCredentials,
    }).send(new ListAccessKeysCommand({ UserName: user.userName }));
    expect(keys.AccessKeyMetadata?.map((k) => [k.AccessKeyId, k.Status])).toEqual([
      [user.oldAccessKeyId, 'Active'],
    ]);
  }, 60_000);
});
