import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ROTATOR_ROLE, vaultAdmin } from '../../local-stack/provision.js';
import type { HistoryEvent } from '../../local-stack/state-machine.js';
import { expectInvariants } from '../support/invariants.js';
import { useLocalStack } from '../support/local-stack.js';
import {
  expectFailure,
  expectNamedError,
  expectSuccess,
  rotateRecordingFaults,
} from '../support/scenarios.js';

const ctx = useLocalStack({ env: { ROTATOR_AWS_TIMEOUT_MS: '300', VAULT_TIMEOUT_MS: '300' } });

const WRITER_POLICY = readFileSync(new URL('../../vault/policy-writer.hcl', import.meta.url), 'utf8');
const READ_ONLY_POLICY = `
path "secret/data/aws/iam-users/*" { capabilities = ["read"] }
path "secret/metadata/aws/iam-users/*" { capabilities = ["read"] }
`;
const NO_ACCESS_POLICY = `path "secret/data/nothing/*" { capabilities = ["read"] }`;

const VAULT_OPS = [
  'login',
  'kv-read',
  'kv-write',
  'kv-metadata',
  'kv-delete',
  'mounts',
  'token',
  'sys',
  'health',
];

let seq = 0;
const seed = (name: string, keys = 1) => ctx.seed(`vault-${name}-${++seq}`, { keys });
const entered = (event: HistoryEvent, state: string) =>
  event.type === 'StateEntered' && event.state?.name === state;

// Cold start each time: every rotation logs in to Vault first.
beforeEach(() => {
  vi.resetModules();
  ctx.stack.traffic.clearFaults();
});
afterEach(() => {
  ctx.stack.vault.unseal();
  ctx.stack.vault.putPolicy(ROTATOR_ROLE, WRITER_POLICY);
});

describe('Vault down', () => {
  it.each(['503', '500', '429', 'timeout', 'reset'])(
    'every Vault call fails (%s) from the start: CreateKeyFailed, nothing changed',
    async (fault) => {
      const user = await seed(`down-${fault}`);
      const faults = VAULT_OPS.map((op) => `vault:${op}:${fault}x1000`);
      const { report } = await rotateRecordingFaults(ctx, user, { faults, deadlineMs: 10_000 });

      expect(report.status).toBe('FAILED');
      expect(report.states.at(-1)).toBe('CreateKeyFailed');
      expect(report.error?.Error).toBe('VaultUnavailableError');
      expect(report.after).toEqual(report.before);
      expect(report.calls['iam:CreateAccessKey']).toBeUndefined();
      await expectInvariants(ctx, user, report);
    },
  );

  it('down from StoreInVault to the end of the execution: rolls back, or stops where no key is lost', async () => {
    const user = await seed('down-mid');
    const faults = [
      'kv-read:503x1000@2',
      'kv-write:503x1000',
      'kv-metadata:503x1000',
      'kv-delete:503x1000',
    ].map((f) => `vault:${f}`);
    const { report } = await rotateRecordingFaults(ctx, user, { faults, deadlineMs: 10_000 });

    expect(report.status).toBe('FAILED');
    expectNamedError(report.error);
    expect(report.after.vault).toEqual(report.before.vault);
    await expectInvariants(ctx, user, report);
  });
});

describe('Vault sealed at a chosen state', () => {
  it('sealed when StoreInVault starts, unsealed 300 ms later: the retries get through, SUCCEEDED', async () => {
    const user = await seed('sealed-brief');
    const report = await ctx.rotate(user, {
      retryPauseMs: { StoreInVault: 100 },
      onEvent: (event) => {
        if (entered(event, 'StoreInVault') && event.retry === undefined) {
          ctx.stack.vault.seal();
          setTimeout(() => ctx.stack.vault.unseal(), 300);
        }
      },
    });
    expectSuccess(report);
    expect(report.history.some((e) => e.type === 'StateRetried' && e.state?.name === 'StoreInVault')).toBe(
      true,
    );
    await expectInvariants(ctx, user, report);
  });

  it.each([
    ['StoreInVault', 'VaultWriteFailed'],
    ['VerifyKey', 'VerificationFailed'],
  ])('sealed at %s until the rollback starts: %s, Vault serves the old key', async (state, error) => {
    const user = await seed(`sealed-${state}`);
    const report = await ctx.rotate(user, {
      onEvent: (event) => {
        if (entered(event, state)) ctx.stack.vault.seal();
        if (entered(event, 'RestoreVault')) ctx.stack.vault.unseal();
      },
    });
    expectFailure(report, error, error);
    expect((await ctx.vaultKey(user))?.accessKeyId).toBe(user.oldAccessKeyId);
    expect(report.after.accessKeys).toEqual(report.before.accessKeys);
    await expectInvariants(ctx, user, report);
  });

  it.each(['GracePeriod', 'DeleteOld'])(
    'sealed at %s for the rest of the execution: RetirementFailed, the new key in Vault works',
    async (state) => {
      const user = await seed(`sealed-${state}`);
      const report = await ctx.rotate(user, {
        onEvent: (event) => {
          if (entered(event, state)) ctx.stack.vault.seal();
          // Unsealed once the execution has ended, so the report can read what Vault serves.
          if (event.type === 'ExecutionFailed' || event.type === 'ExecutionSucceeded')
            ctx.stack.vault.unseal();
        },
      });
      expectFailure(report, 'VaultUnavailableError', 'RetirementFailed');
      expect(report.after.vault?.accessKeyId).not.toBe(user.oldAccessKeyId);
      await expectInvariants(ctx, user, report);
    },
  );

  it('sealed for the first key of a user from VerifyKey until the rollback: the path is empty again', async () => {
    const user = await seed('sealed-first', 0);
    const report = await ctx.rotate(user, {
      onEvent: (event) => {
        if (entered(event, 'VerifyKey')) ctx.stack.vault.seal();
        if (entered(event, 'RestoreVault')) ctx.stack.vault.unseal();
      },
    });
    expectFailure(report, 'VerificationFailed', 'VerificationFailed');
    expect(report.after.vault).toBeNull();
    expect(report.after.accessKeys).toEqual([]);
    await expectInvariants(ctx, user, report);
  });
});

describe('Vault token expired or revoked mid-run', () => {
  // kv-read @1 CreateKey, @2 StoreInVault, @3 VerifyKey, @4 DeactivateOld, @5 DeleteOld.
  it.each([1, 2, 3, 4, 5])('token refused once at read %i: logs in again, SUCCEEDED', async (n) => {
    const user = await seed(`expired-${n}`);
    const faults = [`vault:kv-read:403@${n}`];
    const { report, fired } = await rotateRecordingFaults(ctx, user, { faults });
    expect(fired[0]?.fired).toBe(1);
    expectSuccess(report);
    expect(report.calls['vault:login']).toBe(2);
    await expectInvariants(ctx, user, report);
  });

  it('token refused at the write: logs in again, SUCCEEDED with one new version', async () => {
    const user = await seed('expired-write');
    const { report } = await rotateRecordingFaults(ctx, user, { faults: ['vault:kv-write:403'] });
    expectSuccess(report);
    expect(report.after.vault?.version).toBe(2);
    await expectInvariants(ctx, user, report);
  });

  it('token refused at VerifyKey and the new login refused too: VerificationFailed, rolled back', async () => {
    const user = await seed('expired-relogin');
    const { report } = await rotateRecordingFaults(ctx, user, {
      faults: ['vault:kv-read:403@3', 'vault:login:403@2'],
    });
    expectFailure(report, 'VerificationFailed', 'VerificationFailed');
    expect((await ctx.vaultKey(user))?.accessKeyId).toBe(user.oldAccessKeyId);
    await expectInvariants(ctx, user, report);
  });

  it('tokens that live one second: renewed before they expire during a slow rotation, SUCCEEDED', async () => {
    const admin = vaultAdmin(ctx.target);
    const role = `auth/aws/role/${ROTATOR_ROLE}`;
    await admin.post(role, { token_ttl: 1 });
    try {
      const user = await seed('short-ttl');
      const report = await ctx.rotate(user, { waitMs: { GracePeriod: 1_200, RecoveryWindow: 1_200 } });
      expectSuccess(report);
      expect(report.calls['vault:login']).toBeGreaterThanOrEqual(2);
      await expectInvariants(ctx, user, report);
    } finally {
      await admin.post(role, { token_ttl: 900 });
    }
  });
});

describe('Vault permission denied', () => {
  it('no access to the path at all: CreateKeyFailed, nothing changed', async () => {
    ctx.stack.vault.putPolicy(ROTATOR_ROLE, NO_ACCESS_POLICY);
    const user = await seed('denied-all');
    const report = await ctx.rotate(user);
    expectFailure(report, 'VaultPermissionDeniedError', 'CreateKeyFailed');
    expect(report.after).toEqual(report.before);
    await expectInvariants(ctx, user, report);
  });

  it('read-only from the start: VaultWriteFailed, the new key deleted', async () => {
    ctx.stack.vault.putPolicy(ROTATOR_ROLE, READ_ONLY_POLICY);
    const user = await seed('denied-write');
    const report = await ctx.rotate(user);
    expectFailure(report, 'VaultWriteFailed', 'VaultWriteFailed');
    expect(report.after).toEqual(report.before);
    await expectInvariants(ctx, user, report);
  });

  it('write permission withdrawn by an operator when StoreInVault starts: VaultWriteFailed', async () => {
    const user = await seed('denied-mid');
    const report = await ctx.rotate(user, {
      onEvent: (event) => {
        if (entered(event, 'StoreInVault')) ctx.stack.vault.putPolicy(ROTATOR_ROLE, READ_ONLY_POLICY);
      },
    });
    expectFailure(report, 'VaultWriteFailed', 'VaultWriteFailed');
    expect(report.after).toEqual(report.before);
    await expectInvariants(ctx, user, report);
  });

  it('all access withdrawn after the store (at VerifyKey): stops with a named error, a working key in Vault', async () => {
    const user = await seed('denied-verify');
    const report = await ctx.rotate(user, {
      onEvent: (event) => {
        if (entered(event, 'VerifyKey')) ctx.stack.vault.putPolicy(ROTATOR_ROLE, NO_ACCESS_POLICY);
      },
    });
    expect(report.status).toBe('FAILED');
    expectNamedError(report.error);
    await expectInvariants(ctx, user, report);
  });
});
