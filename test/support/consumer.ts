import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { dataPath, type Target, vaultAdmin } from '../../local-stack/provision.js';

/** A Vault token that may read one path only, as a consumer's would (the policy docs/consumers.md shows). */
export async function consumerToken(target: Target, vaultPath: string): Promise<string> {
  const name = `consumer-${vaultPath.replaceAll('/', '-')}`;
  const admin = vaultAdmin(target);
  await admin.put(`sys/policies/acl/${name}`, {
    policy: `path "${dataPath(target, vaultPath)}" {\n  capabilities = ["read"]\n}\n`,
  });
  const created = await admin.post('auth/token/create', {
    policies: [name],
    ttl: '1h',
    no_default_policy: true,
  });
  return (created.data as { auth: { client_token: string } }).auth.client_token;
}

/** One call of a consumer: when it ended, the key id that signed it, and the error's name if refused. */
export interface ConsumerCall {
  at: number;
  keyId: string;
  error?: string;
}

/** An STS client whose calls record the access key id that signed each request. */
export function recordingSts(
  target: Target,
  credentials: AwsCredentialIdentity | AwsCredentialIdentityProvider,
): { sts: STSClient; signedWith: () => string } {
  const sts = new STSClient({
    region: target.aws.region,
    endpoint: target.aws.endpoint,
    credentials,
    maxAttempts: 1,
  });
  let last = '';
  sts.middlewareStack.add(
    (next) => async (args) => {
      const authorization =
        (args.request as { headers?: Record<string, string> }).headers?.authorization ?? '';
      last = /Credential=([A-Z0-9]+)\//.exec(authorization)?.[1] ?? '';
      return next(args);
    },
    { step: 'finalizeRequest', priority: 'low', name: 'recordSigningKey' },
  );
  return { sts, signedWith: () => last };
}

/** Calls STS GetCallerIdentity every `intervalMs` until stopped; resolves with every call. */
export function callEvery(
  client: { sts: STSClient; signedWith: () => string },
  intervalMs: number,
): { stop: () => Promise<ConsumerCall[]> } {
  const calls: ConsumerCall[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        await client.sts.send(new GetCallerIdentityCommand({}));
        calls.push({ at: Date.now(), keyId: client.signedWith() });
      } catch (error) {
        calls.push({ at: Date.now(), keyId: client.signedWith(), error: (error as Error).name });
      }
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return calls;
    },
  };
}
