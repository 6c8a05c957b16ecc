import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, beforeEach, vi } from 'vitest';
import { type MotoServer, startMoto } from '../../local-stack/moto.js';
import {
  createMotoAdmin,
  type FunctionIdentities,
  provisionFunctionRoles,
} from '../../local-stack/moto-provision.js';
import {
  localTarget,
  type Provisioned,
  readVaultKey,
  seedUser,
  type Target,
} from '../../local-stack/provision.js';
import { prepareTarget, rotate } from '../../local-stack/rotation.js';
import { type LocalStack, startLocalStack } from '../../local-stack/stack.js';
import { type TestStack, vaultSecrets } from '../support/local-stack.js';

/** One moto_server for the whole file (it takes seconds to start), with an administrator in it. */
export interface SharedMoto {
  server: MotoServer;
  admin: { accessKeyId: string; secretAccessKey: string; arn: string };
  region: string;
}

/** Starts moto_server before the file's suites and stops it after them. */
export function useMotoServer(executable: string): () => SharedMoto {
  let shared: SharedMoto | undefined;
  beforeAll(async () => {
    const server = await startMoto(executable);
    const region = 'us-east-1';
    try {
      shared = { server, admin: await createMotoAdmin(server.endpoint, region), region };
    } catch (error) {
      await server.close();
      throw error;
    }
  });
  afterAll(async () => {
    await shared?.server.close();
  });
  return () => {
    if (!shared) throw new Error('moto_server is not started yet (use it inside tests)');
    return shared;
  };
}

/**
 * A fault that refuses VerifyKey's read of the stored key: the third Vault read of a cold rotation
 * on KV v2, the fifth on KV v1 (where StoreInVault reads the current value again and its write back).
 */
export function verifyReadRefused(target: Target): string {
  return `vault:kv-read:403x2@${target.kvVersion === 1 ? 5 : 3}`;
}

export interface MotoStack extends TestStack {
  moto: SharedMoto;
  provisioned: Provisioned;
  /** With `authorization`: each function's role in moto and its session's credentials. */
  identities: FunctionIdentities | undefined;
}

/**
 * For one describe block: moto as AWS (IAM, STS, KMS), the project's Vault emulator with moto as
 * its STS endpoint, the rotator provisioned on both by the same `prepareTarget` as
 * `npm start -- --aws-endpoint`. With `authorization`, each function gets an IAM role in moto
 * holding its deployment policy, and moto then authorizes every request.
 */
export function useMoto(
  shared: () => SharedMoto,
  options: { authorization?: boolean; vault?: Partial<Pick<Target, 'vaultAuth' | 'kvVersion'>> } = {},
): MotoStack {
  let stack: LocalStack | undefined;
  let target: Target | undefined;
  let provisioned: Provisioned | undefined;
  let identities: FunctionIdentities | undefined;
  const need = () => {
    if (!stack || !target || !provisioned) throw new Error('moto is not set up yet (use it inside tests)');
    return { moto: shared(), stack, target, provisioned };
  };

  beforeAll(async () => {
    const { server, admin, region } = shared();
    await server.setAuthorization(false);
    stack = await startLocalStack({});
    target = {
      ...localTarget(stack, options.vault),
      aws: {
        endpoint: server.endpoint,
        region,
        credentials: { accessKeyId: admin.accessKeyId, secretAccessKey: admin.secretAccessKey },
      },
    };
    provisioned = await prepareTarget(target);
    if (options.authorization) {
      identities = await provisionFunctionRoles(target, provisioned);
      // A handler call made without its function's own role would sign with an unknown key and fail.
      Object.assign(process.env, {
        AWS_ACCESS_KEY_ID: 'AKIANOFUNCTIONSROLE0',
        AWS_SECRET_ACCESS_KEY: 'no function role'.padEnd(40, '0'),
      });
      await server.setAuthorization(true);
    }
  });
  afterAll(async () => {
    await stack?.close();
  });
  // Fresh handler modules for every rotation: they read their configuration once per container.
  beforeEach(() => {
    vi.resetModules();
  });

  return {
    get moto() {
      return need().moto;
    },
    get stack() {
      return need().stack;
    },
    get target() {
      return need().target;
    },
    get provisioned() {
      return need().provisioned;
    },
    get identities() {
      return identities;
    },
    seed: (userName, seedOptions) => seedUser(need().target, userName, seedOptions),
    rotate: (user, rotateOptions) =>
      rotate({
        waitMs: 0,
        retryPauseMs: 0,
        ...(identities ? { functionEnvironment: identities.functionEnvironment } : {}),
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
      const { target } = need();
      const sts = new STSClient({
        region: target.aws.region,
        endpoint: target.aws.endpoint,
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
