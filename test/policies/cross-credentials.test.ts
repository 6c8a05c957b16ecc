import { CreateAccessKeyCommand, IAMClient } from '@aws-sdk/client-iam';
import { DecryptCommand, EncryptCommand, KMSClient } from '@aws-sdk/client-kms';
import { describe, expect, it } from 'vitest';
import type { FunctionName } from '../../deploy/policies.cjs';
import { uniqueUser, usePolicyLab } from './support.js';

const lab = usePolicyLab();

/** The keys the local Lambda runtime gives a function, as SDK credentials. */
async function credentialsOf(fn: FunctionName) {
  const { provisioned } = await lab().use(2);
  const env = provisioned.functionEnvironment[fn];
  if (!env) throw new Error(`no environment for ${fn}`);
  return {
    accessKeyId: env.AWS_ACCESS_KEY_ID ?? '',
    secretAccessKey: env.AWS_SECRET_ACCESS_KEY ?? '',
    sessionToken: env.AWS_SESSION_TOKEN ?? '',
  };
}

describe('a function holding another function’s credentials is refused', () => {
  it('deleteOld’s role may not create an access key', async () => {
    await lab().use(2);
    const user = await lab().seed(uniqueUser('cross-create'));
    const { aws } = lab().stack;
    const iam = new IAMClient({
      endpoint: aws.endpoint,
      region: aws.region,
      credentials: await credentialsOf('deleteOld'),
      maxAttempts: 1,
    });
    const error = (await iam
      .send(new CreateAccessKeyCommand({ UserName: user.userName }))
      .catch((e: unknown) => e)) as Error;
    expect(error.name).toBe('AccessDenied');
    expect(error.message).toMatch(
      /assumed-role\/iam-key-rotator-local-deleteOld\/.* is not authorized to perform: iam:CreateAccessKey/,
    );
  });

  it('verifyKey’s role may not decrypt a sealed secret', async () => {
    const { aws } = lab().stack;
    const { provisioned } = await lab().use(2);
    const config = { endpoint: aws.endpoint, region: aws.region, maxAttempts: 1 };
    const context = {
      'iam-key-rotator:execution': 'x',
      'iam-key-rotator:user': 'u',
      'iam-key-rotator:access-key-id': 'AKIA',
      'iam-key-rotator:purpose': 'new-secret',
    };
    const sealed = await new KMSClient({ ...config, credentials: await credentialsOf('createKey') }).send(
      new EncryptCommand({
        KeyId: provisioned.kmsKeyId,
        Plaintext: Buffer.from('secret'),
        EncryptionContext: context,
      }),
    );
    const decrypt = (credentials: Awaited<ReturnType<typeof credentialsOf>>) =>
      new KMSClient({ ...config, credentials }).send(
        new DecryptCommand({ CiphertextBlob: sealed.CiphertextBlob, EncryptionContext: context }),
      );
    expect(Buffer.from((await decrypt(await credentialsOf('storeInVault'))).Plaintext ?? []).toString()).toBe(
      'secret',
    );
    const error = (await decrypt(await credentialsOf('verifyKey')).catch((e: unknown) => e)) as Error;
    expect(error.name).toBe('AccessDeniedException');
    expect(error.message).toMatch(
      /iam-key-rotator-local-verifyKey\/.* is not authorized to perform: kms:Decrypt/,
    );
  });

  it('a rotation whose createKey runs with deleteOld’s keys, or storeInVault with verifyKey’s, fails denied', async () => {
    const { provisioned } = await lab().use(2);
    const env = provisioned.functionEnvironment;
    const { aws } = lab().stack;
    for (const [fn, impostor, action] of [
      ['createKey', 'deleteOld', 'iam:GetUser'],
      ['storeInVault', 'verifyKey', 'kms:Decrypt'],
    ] as const) {
      const user = await lab().seed(uniqueUser(`cross-${fn}`));
      aws.clearAuthorizationLog();
      const report = await lab().rotate(user, { functionEnvironment: { ...env, [fn]: env[impostor] ?? {} } });
      expect(report.status).toBe('FAILED');
      expect(report.after.accessKeys).toEqual(report.before.accessKeys);
      expect(aws.denials()).toContainEqual(
        expect.objectContaining({ action, roleArn: lab().roleArn(impostor) }),
      );
    }
  });
});
