import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { afterAll, beforeAll } from 'vitest';
import {
  localTarget,
  readVaultKey,
  type SeededUser,
  seedUser,
  type Target,
} from '../../local-stack/provision.js';
import { prepareTarget, rotate, type RotateOptions } from '../../local-stack/rotation.js';
import { type LocalStack, startLocalStack } from '../../local-stack/stack.js';

export interface TestStack {
  stack: LocalStack;
  target: Target;
  /**
   * Creates a user with `keys` keys (default 1); the newest is stored in Vault (at its default path,
   * or at `vaultPath`) unless told otherwise.
   */
  seed(
    userName: string,
    options?: { keys?: number; storeInVault?: boolean; vaultPath?: string },
  ): Promise<SeededUser>;
  rotate(
    user: SeededUser,
    options?: Partial<Omit<RotateOptions, 'target' | 'stack' | 'user'>>,
  ): ReturnType<typeof rotate>;
  /** The key pair Vault serves now for the user, with the real secret (test side only). */
  vaultKey(user: SeededUser): Promise<{ accessKeyId: string; secretAccessKey: string } | null>;
  /** True when STS accepts the key pair. */
  works(key: { accessKeyId: string; secretAccessKey: string }): Promise<boolean>;
  /** Every secret access key any Vault version holds or held: what must never leak. */
  knownSecrets(): string[];
}

/** Starts the local stack for a test file, provisions the rotator and points the handlers at it. */
export function useLocalStack(
  options: {
    propagationMs?: number;
    /** The Vault the rotator works with: auth method, KV version, namespace. */
    vault?: Partial<Pick<Target, 'vaultAuth' | 'kvVersion' | 'namespace'>>;
    /** Serve Vault over TLS with this certificate; `caCert` is the CA the handlers are told to trust. */
    tls?: { key: string; cert: string; caCert: string };
    env?: Record<string, string>;
  } = {},
): TestStack {
  let stack: LocalStack | undefined;
  let target: Target | undefined;
  const need = () => {
    if (!stack || !target) throw new Error('the local stack is not started yet (use it inside tests)');
    return { stack, target };
  };
  beforeAll(async () => {
    const { tls } = options;
    stack = await startLocalStack({
      propagationMs: options.propagationMs ?? 0,
      ...(tls ? { tls: { key: tls.key, cert: tls.cert } } : {}),
    });
    const local = localTarget(stack, options.vault);
    target = tls ? { ...local, vault: { ...local.vault, caCert: tls.caCert } } : local;
    await prepareTarget(target);
    Object.assign(process.env, options.env);
  });
  afterAll(async () => {
    await stack?.close();
  });
  return {
    get stack() {
      return need().stack;
    },
    get target() {
      return need().target;
    },
    seed: (userName, seedOptions) => seedUser(need().target, userName, seedOptions),
    rotate: (user, rotateOptions) =>
      rotate({
        waitMs: 0,
        retryPauseMs: 0,
        ...rotateOptions,
        target: need().target,
        stack: need().stack,
        user,
      }),
    async vaultKey(user) {
      const served = await readVaultKey(need().target, user.vaultPath);
      return served ? { accessKeyId: served.accessKeyId, secretAccessKey: served.secretAccessKey } : null;
    },
    async works(key) {
      const sts = new STSClient({
        region: need().target.aws.region,
        endpoint: need().stack.aws.endpoint,
        credentials: key,
        maxAttempts: 1,
      });
      try {
        await sts.send(new GetCallerIdentityCommand({}));
        return true;
      } catch {
        return false;
      }
    },
    knownSecrets: () => vaultSecrets(need().stack),
  };
}

/** Every secret access key any Vault version holds or held. */
export function vaultSecrets(stack: LocalStack): string[] {
  const secrets: string[] = [];
  for (const ns of Object.values(stack.vault.snapshot().namespaces)) {
    for (const secret of Object.values(ns.secrets)) {
      if (typeof secret.data?.secret_key === 'string') secrets.push(secret.data.secret_key);
      for (const version of Object.values(secret.versions ?? {})) {
        const value = version.data?.secret_key;
        if (typeof value === 'string') secrets.push(value);
      }
    }
  }
  return secrets;
}

/**
 * An operator's environment pointed at the local stack: the SDK's default chain (the stack's
 * administrator), its endpoint, and the machines the CLI starts and reads.
 */
export function operatorEnv(stack: LocalStack): NodeJS.ProcessEnv {
  const { accessKeyId, secretAccessKey } = stack.aws.adminCredentials;
  return {
    AWS_REGION: stack.aws.region,
    AWS_ACCESS_KEY_ID: accessKeyId,
    AWS_SECRET_ACCESS_KEY: secretAccessKey,
    AWS_ENDPOINT_URL: stack.aws.endpoint,
    ROTATOR_STATE_MACHINE_ARN: stack.stateMachineArn,
    ROTATOR_FLEET_STATE_MACHINE_ARN: stack.fleetStateMachineArn,
    ROTATOR_ACCOUNT_ID: stack.aws.accountId,
  };
}

/** Sets an access key's creation date through the emulator's admin route (IAM has no such call). */
export async function backdateKey(stack: LocalStack, accessKeyId: string, createDate: Date): Promise<void> {
  const response = await fetch(`${stack.aws.endpoint}/__admin/access-keys/${accessKeyId}/create-date`, {
    method: 'POST',
    body: JSON.stringify({ createDate: createDate.toISOString() }),
  });
  if (!response.ok) throw new Error(`backdating ${accessKeyId} failed: HTTP ${response.status}`);
}
