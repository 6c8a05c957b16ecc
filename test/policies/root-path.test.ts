// Users at `/` (rotateUsersAtRootPath): the deployment's own policy documents, rendered for the
// root path, evaluated by the emulated IAM. A user nobody opted in (an administrator) can't be
// touched by createKey's role; a user tagged iam-key-rotator:rotate=true can.
import {
  CreateAccessKeyCommand,
  CreateUserCommand,
  DeleteAccessKeyCommand,
  GetUserCommand,
  IAMClient,
} from '@aws-sdk/client-iam';
import { afterAll, describe, expect, it } from 'vitest';
import policies from '../../deploy/policies.cjs';
import { renderLocally } from '../../local-stack/function-roles.js';
import { uniqueUser, usePolicyLab } from './support.js';

const lab = usePolicyLab();

afterAll(async () => {
  await lab().restorePolicies();
});

/** createKey's role with the policy a `userPath: /`, `rotateUsersAtRootPath: true` deployment gives it. */
async function createKeyAtRoot() {
  const { provisioned } = await lab().use(2);
  const { aws } = lab().stack;
  const document = renderLocally(policies.functionPolicy('createKey', { rotateUsersAtRootPath: true }), {
    region: aws.region,
    accountId: aws.accountId,
    sealingKeyArn: `arn:aws:kms:${aws.region}:${aws.accountId}:key/${provisioned.kmsKeyId}`,
    pinKeyArn: provisioned.pinKeyId,
    claimKeyArn: provisioned.claimKeyId,
    userPath: '/',
  });
  await lab().putPolicy('createKey', document);
  const env = provisioned.functionEnvironment.createKey;
  if (!env) throw new Error('no environment for createKey');
  const config = { endpoint: aws.endpoint, region: aws.region, maxAttempts: 1 };
  return {
    admin: new IAMClient({ ...config, credentials: aws.adminCredentials }),
    createKey: new IAMClient({
      ...config,
      credentials: {
        accessKeyId: env.AWS_ACCESS_KEY_ID ?? '',
        secretAccessKey: env.AWS_SECRET_ACCESS_KEY ?? '',
        sessionToken: env.AWS_SESSION_TOKEN ?? '',
      },
    }),
  };
}

describe('users at / with rotateUsersAtRootPath', () => {
  it('createKey’s role may not touch a user at / without the opt-in tag, and may a tagged one', async () => {
    const { admin, createKey } = await createKeyAtRoot();
    const administrator = uniqueUser('root-admin');
    const optedIn = uniqueUser('root-opted-in');
    await admin.send(new CreateUserCommand({ UserName: administrator, Path: '/' }));
    await admin.send(
      new CreateUserCommand({
        UserName: optedIn,
        Path: '/',
        Tags: [{ Key: policies.OPT_IN_TAG_KEY, Value: 'true' }],
      }),
    );
    for (const command of [
      new CreateAccessKeyCommand({ UserName: administrator }),
      new GetUserCommand({ UserName: administrator }),
    ]) {
      const error = (await createKey.send(command as never).catch((e: unknown) => e)) as Error;
      expect(error.name).toBe('AccessDenied');
      expect(error.message).toMatch(/iam-key-rotator-local-createKey\/.* is not authorized to perform: iam:/);
    }
    const { AccessKey } = await createKey.send(new CreateAccessKeyCommand({ UserName: optedIn }));
    expect(AccessKey?.UserName).toBe(optedIn);
    await admin.send(new DeleteAccessKeyCommand({ UserName: optedIn, AccessKeyId: AccessKey?.AccessKeyId }));
  });

  it('the tag must say true: another value opts nobody in', async () => {
    const { admin, createKey } = await createKeyAtRoot();
    const user = uniqueUser('root-false');
    await admin.send(
      new CreateUserCommand({
        UserName: user,
        Path: '/',
        Tags: [{ Key: policies.OPT_IN_TAG_KEY, Value: 'false' }],
      }),
    );
    const error = (await createKey
      .send(new CreateAccessKeyCommand({ UserName: user }))
      .catch((e: unknown) => e)) as Error;
    expect(error.name).toBe('AccessDenied');
  });
});
