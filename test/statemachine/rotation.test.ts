import { DeleteAccessKeyCommand } from '@aws-sdk/client-iam';
import { describe, expect, it } from 'vitest';
import { HAPPY_PATH } from '../support/paths.js';
import type { Json } from '../../local-stack/lambda.js';
import { expectInvariants, expectNoSecrets } from '../support/invariants.js';
import { useLocalStack } from '../support/local-stack.js';
import { adminIam, writeCalls } from '../support/tags.js';

// The real ASL file, executed by aws-local-stepfunctions, with every Task mapped to the real handler
// module, against the local AWS and Vault emulators through the real SDK and Vault clients.
// A deployment that lets input ask for deleteInactiveKey (allowDeleteInactiveKey).
const ctx = useLocalStack({ env: { ROTATOR_ALLOW_DELETE_INACTIVE_KEY: 'true' } });

/** Deletes a key as the administrator, behind the rotator's back. */
const deleteKey = (UserName: string, AccessKeyId: string) =>
  adminIam(ctx).send(new DeleteAccessKeyCommand({ UserName, AccessKeyId }));

const ids = (keys: { accessKeyId: string }[]) => keys.map((k) => k.accessKeyId);

describe('rotation state machine', () => {
  it('rotates a user with an old key: stores and verifies the new key, then retires the old one', async () => {
    const user = await ctx.seed('happy-path');
    const report = await ctx.rotate(user);

    expect(report.status).toBe('SUCCEEDED');
    expect(report.states).toEqual(HAPPY_PATH);
    const newKey = report.after.vault?.accessKeyId;
    expect(newKey).toBeDefined();
    expect(newKey).not.toBe(user.oldAccessKeyId);
    expect(ids(report.after.accessKeys)).toEqual([newKey]);
    expect(report.after.vault?.version).toBe(2);
    await expectInvariants(ctx, user, report);
  });

  it('rotates a user without keys and skips the retirement steps', async () => {
    const user = await ctx.seed('first-key', { keys: 0 });
    const report = await ctx.rotate(user);

    expect(report.status).toBe('SUCCEEDED');
    expect(report.states.slice(-2)).toEqual(['HasOldKeys', 'FirstKeyRotated']);
    expect(report.states).not.toContain('DeactivateOld');
    expect(report.after.vault?.version).toBe(1);
    await expectInvariants(ctx, user, report);
  });

  it('deletes the new key and leaves the old key and Vault untouched when the Vault write keeps failing', async () => {
    const user = await ctx.seed('vault-write-fails');
    const report = await ctx.rotate(user, { faults: ['vault:kv-write:503x10'] });

    expect(report.status).toBe('FAILED');
    expect(report.error?.Error).toBe('VaultWriteFailed');
    expect(report.states).toEqual(
      expect.arrayContaining([
        'VaultWriteFailedRollback',
        'RestoreVault',
        'DiscardNewKey',
        'VaultWriteFailed',
      ]),
    );
    expect(report.after.accessKeys).toEqual(report.before.accessKeys);
    expect(report.after.vault).toEqual(report.before.vault);
    expect(report.calls['iam:DeleteAccessKey']).toBe(1);
    await expectInvariants(ctx, user, report);
  });

  it('restores Vault and deletes the new key when STS never accepts it', async () => {
    const user = await ctx.seed('never-verified');
    const report = await ctx.rotate(user, { faults: ['sts:GetCallerIdentity:InvalidClientTokenIdx50'] });

    expect(report.status).toBe('FAILED');
    expect(report.error?.Error).toBe('VerificationFailed');
    const retries = report.history.filter((e) => e.type === 'StateRetried' && e.state?.name === 'VerifyKey');
    expect(retries).toHaveLength(7);
    expect(report.after.vault?.accessKeyId).toBe(user.oldAccessKeyId);
    expect(report.after.vault?.secretAccessKey).toBe(report.before.vault?.secretAccessKey);
    expect(report.after.vault?.version).toBe(3);
    expect(report.after.accessKeys).toEqual(report.before.accessKeys);
    await expectInvariants(ctx, user, report);
  });

  it('empties the Vault path again when a first key fails verification', async () => {
    const user = await ctx.seed('first-key-unverified', { keys: 0 });
    const report = await ctx.rotate(user, { faults: ['sts:GetCallerIdentity:InvalidClientTokenIdx50'] });

    expect(report.status).toBe('FAILED');
    expect(report.error?.Error).toBe('VerificationFailed');
    expect(report.after.vault).toBeNull();
    expect(report.after.accessKeys).toEqual([]);
    await expectInvariants(ctx, user, report);
  });

  it('retries transient IAM, KMS and Vault errors and then succeeds', async () => {
    const user = await ctx.seed('transient');
    const report = await ctx.rotate(user, {
      faults: [
        'iam:CreateAccessKey:ServiceUnavailablex3',
        'kms:Decrypt:500x3',
        'vault:kv-read:503@2',
        'vault:login:503',
      ],
    });

    expect(report.status).toBe('SUCCEEDED');
    const retried = new Set(
      report.history.filter((e) => e.type === 'StateRetried').map((e) => e.state?.name),
    );
    expect([...retried].sort()).toEqual(['CreateKey', 'StoreInVault'].sort());
    await expectInvariants(ctx, user, report);
  });

  it('waits for IAM propagation: VerifyKey retries until STS accepts the new key', async () => {
    const user = await ctx.seed('propagation');
    ctx.stack.aws.setPropagationMs(300);
    try {
      const report = await ctx.rotate(user, { retryPauseMs: { VerifyKey: [0, 100] } });
      expect(report.status).toBe('SUCCEEDED');
      const waits = report.history.filter((e) => e.type === 'StateRetried' && e.state?.name === 'VerifyKey');
      expect(waits.length).toBeGreaterThanOrEqual(1);
      await expectInvariants(ctx, user, report);
    } finally {
      ctx.stack.aws.setPropagationMs(0);
    }
  });

  it('fails with TooManyAccessKeysError and changes nothing when the user already has two keys', async () => {
    const user = await ctx.seed('two-keys', { keys: 2 });
    const report = await ctx.rotate(user);

    expect(report.status).toBe('FAILED');
    expect(report.error?.Error).toBe('TooManyAccessKeysError');
    expect(report.after).toEqual(report.before);
    expect(report.calls['iam:CreateAccessKey']).toBeUndefined();
    expect(report.calls['vault:kv-write']).toBeUndefined();
    await expectInvariants(ctx, user, report);
  });

  it('makes room by deleting an Inactive key Vault does not hold when deleteInactiveKey is set', async () => {
    const user = await ctx.seed('inactive-spare', { keys: 2 });
    const spare = (await ctx.rotate(user, { input: { userName: user.userName, dryRun: true } })).before
      .accessKeys[0];
    expect(spare).toBeDefined();
    const { IAMClient, UpdateAccessKeyCommand } = await import('@aws-sdk/client-iam');
    await new IAMClient({
      region: ctx.target.aws.region,
      endpoint: ctx.stack.aws.endpoint,
      credentials: ctx.stack.aws.adminCredentials,
    }).send(
      new UpdateAccessKeyCommand({
        UserName: user.userName,
        AccessKeyId: spare?.accessKeyId,
        Status: 'Inactive',
      }),
    );
    const report = await ctx.rotate(user, { input: { userName: user.userName, deleteInactiveKey: true } });

    expect(report.error).toBeNull();
    expect(report.status).toBe('SUCCEEDED');
    expect(ids(report.after.accessKeys)).not.toContain(spare?.accessKeyId);
    await expectInvariants(ctx, user, report);
  });

  it('plans without changing anything in a dry run', async () => {
    const user = await ctx.seed('dry-run');
    const report = await ctx.rotate(user, { input: { userName: user.userName, dryRun: true } });

    expect(report.status).toBe('SUCCEEDED');
    expect(report.states.at(-1)).toBe('DryRunComplete');
    expect(report.after).toEqual(report.before);
    expect(
      Object.keys(report.calls).filter((c) => /Create|Delete|Update|TagUser|Encrypt|kv-write/.test(c)),
    ).toEqual([]);
  });

  it('rejects invalid input with InvalidInputError before any AWS or Vault call', async () => {
    const user = await ctx.seed('bad-input');
    const inputs: Json[] = [
      { userName: 'has spaces' },
      { userName: user.userName, unexpected: true },
      { userName: user.userName, vaultPath: 'aws/iam-users/../../sys/policy' },
      { userName: user.userName, vaultPath: 'elsewhere/key' },
      { userName: user.userName, graceSeconds: -1 },
      // Below the deployment's floors (the local stack has a deployment's defaults: 300 s, 3600 s, no proceed).
      { userName: user.userName, graceSeconds: 0 },
      { userName: user.userName, recoverySeconds: 60 },
      { userName: user.userName, oldKeyInUse: 'proceed' },
      {},
    ];
    for (const input of inputs) {
      const report = await ctx.rotate(user, { input });
      expect(report.status, JSON.stringify(input)).toBe('FAILED');
      expect(report.error?.Error).toBe('InvalidInputError');
      expect(report.states).toEqual(['ValidateInput', 'InputRejected']);
      expect(report.calls).toEqual({});
      expect(report.after).toEqual(report.before);
    }
  });

  it('refuses a vaultPath that serves another user’s key, before changing anything', async () => {
    const other = await ctx.seed('path-owner');
    const user = await ctx.seed('path-borrower');
    const report = await ctx.rotate(user, { input: { userName: user.userName, vaultPath: other.vaultPath } });

    expect(report.error?.Error).toBe('InvalidInputError');
    expect(report.error?.Cause).toContain(`'path-owner'`);
    expect(report.states).toEqual(['ValidateInput', 'CreateKey', 'DiscardLeftovers', 'CreateKeyFailed']);
    expect(report.after).toEqual(report.before);
    expect(await ctx.vaultKey(other)).toMatchObject({ accessKeyId: other.oldAccessKeyId });
  });

  it('repairs a Vault path that serves a key which no longer exists, when the user has no other Active key', async () => {
    const user = await ctx.seed('stale-vault-key');
    await deleteKey(user.userName, user.oldAccessKeyId ?? '');
    const report = await ctx.rotate(user);

    expect(report.error).toBeNull();
    expect(report.after.vault?.accessKeyId).toBe(report.after.accessKeys[0]?.accessKeyId);
    await expectInvariants(ctx, user, report);
  });

  it('does not repair a stale unpinned path while the user has an Active key no path is proven to serve', async () => {
    // Issue 16: the remaining Active key may be served elsewhere (a custom path); nothing proves its
    // consumers read this path, so the rotation refuses before any write instead of retiring it.
    const user = await ctx.seed('stale-vault-key-2', { keys: 2 });
    await deleteKey(user.userName, user.oldAccessKeyId ?? '');
    const report = await ctx.rotate(user);

    expect(report.error?.Error).toBe('InvalidInputError');
    expect(report.error?.Cause).toContain(`which is not a key of this user, not one of its Active keys`);
    expect(report.states).toEqual(['ValidateInput', 'CreateKey', 'DiscardLeftovers', 'CreateKeyFailed']);
    expect(report.after).toEqual(report.before);
    expect(writeCalls(report.calls)).toEqual([]);
  });

  it('never puts a secret access key in any state input or output', async () => {
    const user = await ctx.seed('no-plaintext');
    const report = await ctx.rotate(user);
    const secret = (await ctx.vaultKey(user))?.secretAccessKey ?? '';

    expect(secret).toHaveLength(40);
    const stateData = report.history.flatMap((e) => [e.state?.input, e.state?.output, e.input, e.output]);
    expectNoSecrets(
      stateData.map((d) => JSON.stringify(d ?? null)),
      [secret, ...ctx.knownSecrets()],
    );
    expect(JSON.stringify(report.history)).toContain('sealedSecret');
  });
});
