import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { localTarget, seedUser, type Target } from '../../../local-stack/provision.js';
import { prepareTarget, rotate } from '../../../local-stack/rotation.js';
import { type LocalStack, startLocalStack } from '../../../local-stack/stack.js';

// Replay protection on by default: the local stack's aws auth requires X-Vault-AWS-IAM-Server-ID
// with Vault's host name, as a deployment should, and the handlers send it unless told not to.
describe('X-Vault-AWS-IAM-Server-ID on the local stack', () => {
  let stack: LocalStack | undefined;
  let target: Target;

  const running = (): LocalStack => {
    if (!stack) throw new Error('the local stack has not started');
    return stack;
  };

  beforeAll(async () => {
    stack = await startLocalStack();
    target = localTarget(running(), { vaultAuth: 'aws' });
    vi.resetModules();
    await prepareTarget(target);
  });

  afterAll(async () => {
    delete process.env.VAULT_AWS_IAM_SERVER_ID;
    await stack?.close();
  });

  it('provisions aws auth with the Vault host name as iam_server_id_header_value', () => {
    expect(new URL(running().vault.addr).hostname).toBe('127.0.0.1');
    expect(running().vault.snapshot().namespaces['root']?.aws_client.iam_server_id_header_value).toBe(
      '127.0.0.1',
    );
  });

  it.each([undefined, 'auto'])(
    'rotates with VAULT_AWS_IAM_SERVER_ID %j (the host name is sent)',
    async (value) => {
      vi.resetModules();
      if (value === undefined) delete process.env.VAULT_AWS_IAM_SERVER_ID;
      else process.env.VAULT_AWS_IAM_SERVER_ID = value;
      const user = await seedUser(target, `server-id-${value ?? 'absent'}`);
      const report = await rotate({ target, stack: running(), user, waitMs: 0, retryPauseMs: 0 });
      expect(report.error).toBeNull();
      expect(report.status).toBe('SUCCEEDED');
    },
  );

  it.each([
    ['', 'missing header'],
    ['vault.other.example', 'but got'],
  ])('is refused by Vault with VAULT_AWS_IAM_SERVER_ID %j, before any change', async (value, problem) => {
    vi.resetModules();
    process.env.VAULT_AWS_IAM_SERVER_ID = value;
    const user = await seedUser(target, `server-id-refused-${value === '' ? 'empty' : 'other'}`);
    const report = await rotate({ target, stack: running(), user, waitMs: 0, retryPauseMs: 0 });
    expect(report.status).toBe('FAILED');
    expect(report.error?.Error).toBe('VaultAwsLoginError');
    expect(report.error?.Cause).toContain(problem);
    expect(report.after).toEqual(report.before);
  });
});
