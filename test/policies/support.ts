import { IAMClient, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { afterAll, beforeAll, expect, vi } from 'vitest';
import policies from '../../deploy/policies.cjs';
import type { FleetFunctionName, FunctionName, PolicyDocument } from '../../deploy/policies.cjs';
import { functionRoleName, localFunctionPolicy, renderLocally } from '../../local-stack/function-roles.js';
import {
  localTarget,
  type Provisioned,
  type SeededUser,
  seedUser,
  type Target,
  USER_PATH,
  type VaultAuthMethod,
} from '../../local-stack/provision.js';
import { prepareTarget, rotate, type RotateOptions } from '../../local-stack/rotation.js';
import { type LocalStack, startLocalStack } from '../../local-stack/stack.js';

export type Report = Awaited<ReturnType<typeof rotate>>;

/**
 * One local stack with a KV v2 and a KV v1 target; each function runs as its own role. Switching
 * targets provisions again (a new sealing key, the roles' policies rendered for it) and reloads
 * the handlers, whose configuration is read once per module instance.
 */
export interface PolicyLab {
  stack: LocalStack;
  /** Makes that target the one the handlers work against; a no-op when it already is. */
  use(kv: 1 | 2, vaultAuth?: VaultAuthMethod): Promise<{ target: Target; provisioned: Provisioned }>;
  seed(name: string, options?: { keys?: number }): Promise<SeededUser>;
  rotate(
    user: SeededUser,
    options?: Partial<Omit<RotateOptions, 'target' | 'stack' | 'user'>>,
  ): Promise<Report>;
  /** The function's deployment policy, rendered for the current target. */
  policy(fn: FunctionName): PolicyDocument;
  /** Any document, rendered for the current target. */
  render(document: PolicyDocument): PolicyDocument;
  /** Replaces the function role's policy (through IAM's API, as the administrator). */
  putPolicy(fn: FunctionName, document: PolicyDocument): Promise<void>;
  /** Puts every function's deployment policy back. */
  restorePolicies(): Promise<void>;
  roleArn(fn: FunctionName | FleetFunctionName): string;
}

export function usePolicyLab(): () => PolicyLab {
  let lab: PolicyLab | undefined;
  let stack: LocalStack | undefined;
  beforeAll(async () => {
    stack = await startLocalStack();
    const local = stack;
    const targets = new Map<string, Target>();
    let current: { key: string; target: Target; provisioned: Provisioned } | undefined;
    const need = () => {
      if (!current) throw new Error('call use(kv) first');
      return current;
    };
    const iam = new IAMClient({
      endpoint: local.aws.endpoint,
      region: local.aws.region,
      credentials: local.aws.adminCredentials,
    });
    const values = () => ({
      region: local.aws.region,
      accountId: local.aws.accountId,
      sealingKeyArn: `arn:aws:kms:${local.aws.region}:${local.aws.accountId}:key/${need().provisioned.kmsKeyId}`,
      pinKeyArn: need().provisioned.pinKeyId,
      claimKeyArn: need().provisioned.claimKeyId,
      userPath: USER_PATH,
    });
    const policy = (fn: FunctionName) => localFunctionPolicy(fn, values());
    const putPolicy = async (fn: FunctionName, document: PolicyDocument) => {
      await iam.send(
        new PutRolePolicyCommand({
          RoleName: functionRoleName(fn),
          PolicyName: `${functionRoleName(fn)}-policy`,
          PolicyDocument: JSON.stringify(document),
        }),
      );
    };
    lab = {
      stack: local,
      async use(kvVersion, vaultAuth = 'aws') {
        const key = `${kvVersion} ${vaultAuth}`;
        if (current?.key !== key) {
          vi.resetModules();
          const target = targets.get(key) ?? localTarget(local, { kvVersion, vaultAuth });
          targets.set(key, target);
          current = { key, target, provisioned: await prepareTarget(target) };
        }
        return current;
      },
      seed: (name, options) => seedUser(need().target, name, options),
      rotate: (user, options) =>
        rotate({ waitMs: 0, retryPauseMs: 0, ...options, target: need().target, stack: local, user }),
      policy,
      render: (document) => renderLocally(document, values()),
      putPolicy,
      async restorePolicies() {
        for (const fn of policies.FUNCTIONS) await putPolicy(fn, policy(fn));
      },
      roleArn: (fn) => `arn:aws:iam::${local.aws.accountId}:role/${functionRoleName(fn)}`,
    };
  });
  afterAll(async () => {
    await stack?.close();
  });
  return () => {
    if (!lab) throw new Error('the policy lab has not started');
    return lab;
  };
}

let counter = 0;
/** A user name unique within the file. */
export const uniqueUser = (prefix: string): string => `${prefix}-${(counter += 1)}`;

/** The key ids of a report's observation, in order. */
export const keyIds = (keys: { accessKeyId: string }[]): string[] => keys.map((k) => k.accessKeyId);

/**
 * A successful rotation: one key, new, Active, Vault serves it, and the user is pinned to its path
 * (a refused pin does not fail the execution: VerifyKey reports it).
 */
export function expectRotated(report: Report, user: SeededUser): void {
  expect(report.error, JSON.stringify(report.error)).toBeNull();
  expect(report.status).toBe('SUCCEEDED');
  const verify = report.history.find((e) => e.type === 'StateExited' && e.state?.name === 'VerifyKey');
  expect(verify?.state?.output).toMatchObject({ verified: { pinned: true } });
  expect(report.after.accessKeys).toHaveLength(1);
  const [key] = report.after.accessKeys;
  expect(key?.accessKeyId).not.toBe(user.oldAccessKeyId);
  expect(key?.status).toBe('Active');
  expect(report.after.vault?.accessKeyId).toBe(key?.accessKeyId);
}

/** A rollback: the named failure, and IAM and Vault as they were before. */
export function expectRolledBack(report: Report, error: string): void {
  expect(report.status).toBe('FAILED');
  expect(report.error?.Error, report.error?.Cause).toBe(error);
  expect(report.after.accessKeys).toEqual(report.before.accessKeys);
  expect(report.after.vault?.accessKeyId).toBe(report.before.vault?.accessKeyId);
  expect(report.after.vault?.secretAccessKey).toBe(report.before.vault?.secretAccessKey);
}
