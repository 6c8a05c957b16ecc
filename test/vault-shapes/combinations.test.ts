import { describe, expect, it, vi } from 'vitest';
import { localTarget, seedUser, type Target, type VaultAuthMethod } from '../../local-stack/provision.js';
import { prepareTarget, rotate } from '../../local-stack/rotation.js';
import { startLocalStack } from '../../local-stack/stack.js';
import { expectNoSecrets } from '../support/invariants.js';
import { privateCa } from '../support/tls.js';

// A whole rotation for every shape of Vault the rotator supports, over TLS with a private CA: the
// handlers trust only that CA (VAULT_CACERT_PEM). Each shape gets its own environment, and the
// handler modules are loaded afresh for it, as a Lambda container would be.
const AUTH: VaultAuthMethod[] = ['aws', 'approle', 'token'];
const shapes = [1, 2].flatMap((kvVersion) =>
  AUTH.flatMap((vaultAuth) =>
    ['root', 'team-a'].map((namespace) => ({ kvVersion: kvVersion as 1 | 2, vaultAuth, namespace })),
  ),
);

// One private CA for the file (three openssl runs): each test's stack serves the certificate it signed.
const { caCert, key, cert } = privateCa();

async function withStack<T>(
  run: (stack: Awaited<ReturnType<typeof startLocalStack>>, caCert: string) => Promise<T>,
) {
  const stack = await startLocalStack({ tls: { key, cert } });
  try {
    return await run(stack, caCert);
  } finally {
    await stack.close();
  }
}

/** A rotation without waits or retry pauses. */
function rotateNow(
  target: Target,
  stack: Awaited<ReturnType<typeof startLocalStack>>,
  user: Awaited<ReturnType<typeof seedUser>>,
  options: Omit<Parameters<typeof rotate>[0], 'target' | 'stack' | 'user'> = {},
) {
  return rotate({ target, stack, user, waitMs: 0, retryPauseMs: 0, ...options });
}

async function prepared(
  stack: Awaited<ReturnType<typeof startLocalStack>>,
  caCert: string,
  shape: Partial<Target>,
) {
  const local = localTarget(stack, shape);
  const target: Target = { ...local, vault: { ...local.vault, caCert } };
  vi.resetModules();
  await prepareTarget(target);
  return target;
}

describe('every Vault shape over TLS with a private CA', () => {
  it.each(shapes)('rotates on KV v$kvVersion with $vaultAuth auth in namespace $namespace', async (shape) => {
    await withStack(async (stack, caCert) => {
      expect(stack.vault.addr).toMatch(/^https:/);
      const target = await prepared(stack, caCert, {
        kvVersion: shape.kvVersion,
        vaultAuth: shape.vaultAuth,
        ...(shape.namespace === 'root' ? {} : { namespace: shape.namespace }),
      });
      const user = await seedUser(target, 'shape-user');
      const report = await rotateNow(target, stack, user);

      expect(report.error).toBeNull();
      expect(report.status).toBe('SUCCEEDED');
      expect(report.after.vault?.accessKeyId).not.toBe(user.oldAccessKeyId);
      expect(report.after.accessKeys.map((k) => k.accessKeyId)).toEqual([report.after.vault?.accessKeyId]);
      expect(report.calls['vault:login'] ?? 0).toBe(shape.vaultAuth === 'token' ? 0 : 1);
      if (shape.vaultAuth !== 'aws') expect(report.calls['secretsmanager:GetSecretValue']).toBe(1);
      const ns = stack.vault.snapshot().namespaces[shape.namespace];
      expect(Object.keys(ns?.secrets ?? {})).toContain(`${target.kvMount}/${user.vaultPath}`);
      expectNoSecrets([JSON.stringify(report.history), ...report.logs], []);
    });
  });

  it('writes extra static fields on KV v1, whatever order Vault returns the fields in', async () => {
    await withStack(async (stack, caCert) => {
      const target = await prepared(stack, caCert, { kvVersion: 1, vaultAuth: 'token' });
      process.env.VAULT_EXTRA_FIELDS = JSON.stringify({ owner: 'platform-team' });
      try {
        const user = await seedUser(target, 'kv1-extra-fields');
        const report = await rotateNow(target, stack, user);

        expect(report.error).toBeNull();
        const stored = stack.vault.readSecret(target.kvMount, user.vaultPath)?.data;
        expect(Object.keys(stored ?? {})).toEqual(['access_key', 'owner', 'secret_key']);
        expect(stored?.owner).toBe('platform-team');
      } finally {
        delete process.env.VAULT_EXTRA_FIELDS;
      }
    });
  });

  it('rolls back on KV v1: writes back the previous value it sealed, not kept in state', async () => {
    await withStack(async (stack, caCert) => {
      const target = await prepared(stack, caCert, { kvVersion: 1, vaultAuth: 'aws' });
      const user = await seedUser(target, 'kv1-rollback');
      const report = await rotateNow(target, stack, user, {
        faults: ['sts:GetCallerIdentity:InvalidClientTokenIdx50@2'],
      });

      expect(report.error?.Error).toBe('VerificationFailed');
      expect(report.after.vault).toEqual(report.before.vault);
      expect(report.after.accessKeys).toEqual(report.before.accessKeys);
      const created = report.history.find((e) => e.type === 'StateExited' && e.state?.name === 'CreateKey');
      expect(JSON.stringify(created?.state?.output)).toContain('sealedPrevious');
      const oldSecret = stack.vault.readSecret(target.kvMount, user.vaultPath)?.data?.secret_key;
      expect(typeof oldSecret).toBe('string');
      expectNoSecrets([JSON.stringify(report.history), ...report.logs], [String(oldSecret)]);
    });
  });

  it('detects a concurrent writer on KV v1 and leaves the other writer’s value in place', async () => {
    await withStack(async (stack, caCert) => {
      const target = await prepared(stack, caCert, { kvVersion: 1, vaultAuth: 'token' });
      const user = await seedUser(target, 'kv1-race');
      const report = await rotateNow(target, stack, user, {
        onEvent: (event) => {
          if (event.type === 'StateEntered' && event.state?.name === 'StoreInVault') {
            stack.vault.writeSecret({
              mount: target.kvMount,
              path: user.vaultPath,
              data: { access_key: 'AKIAOTHERWRITER00000', secret_key: 'x'.repeat(40) },
            });
          }
        },
      });

      expect(report.error?.Error).toBe('VaultWriteFailed');
      const failure = report.history.find(
        (e) => e.type === 'StateFailed' && e.state?.name === 'StoreInVault',
      );
      expect(failure?.Error).toBe('VaultCasConflictError');
      expect(report.after.vault?.accessKeyId).toBe('AKIAOTHERWRITER00000');
      expect(report.after.accessKeys).toEqual(report.before.accessKeys);
    });
  });
});
