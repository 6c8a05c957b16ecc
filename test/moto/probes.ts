import {
  CreateAccessKeyCommand,
  CreateRoleCommand,
  CreateUserCommand,
  DeleteAccessKeyCommand,
  GetAccessKeyLastUsedCommand,
  GetUserCommand,
  IAMClient,
  ListAccessKeysCommand,
  ListUserTagsCommand,
  PutRolePolicyCommand,
  TagUserCommand,
  UpdateAccessKeyCommand,
} from '@aws-sdk/client-iam';
import { CreateKeyCommand, DecryptCommand, EncryptCommand, KMSClient } from '@aws-sdk/client-kms';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { errorCode } from '../../functions/commons/aws.js';
import { macProbes } from './mac-probes.js';

/** An AWS-compatible endpoint and credentials that may call everything there. */
export interface Endpoint {
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
}

type Credentials = Endpoint['credentials'] & { sessionToken?: string };

/** What one call did: `ok` (with what the probe reads from the answer), or the AWS error code. */
export type Outcome = string;

async function outcome(
  call: () => Promise<string | undefined>,
  options: { message?: boolean } = {},
): Promise<Outcome> {
  try {
    const seen = await call();
    return seen === undefined ? 'ok' : `ok: ${seen}`;
  } catch (error) {
    const message = error instanceof Error ? error.message.split('\n')[0] : '';
    return `error: ${errorCode(error)}${options.message ? `: ${message}` : ''}`;
  }
}

/**
 * The calls the handlers make, and the answers they depend on, tried on one endpoint. Each probe
 * names the behaviour, so the same table run on two emulators shows where they differ.
 */
export async function probe(target: Endpoint, prefix: string): Promise<Record<string, Outcome>> {
  const config = (credentials: Credentials = target.credentials) => ({
    region: target.region,
    endpoint: target.endpoint,
    credentials,
    maxAttempts: 1,
  });
  const iam = new IAMClient(config());
  const kms = new KMSClient(config());
  const whoAmI = (credentials: Credentials) =>
    outcome(
      async () => (await new STSClient(config(credentials)).send(new GetCallerIdentityCommand({}))).Arn,
    );
  const lastUsed = (accessKeyId: string) =>
    outcome(async () => {
      const out = await iam.send(new GetAccessKeyLastUsedCommand({ AccessKeyId: accessKeyId }));
      const used = out.AccessKeyLastUsed;
      const date = used?.LastUsedDate;
      // Whole seconds or milliseconds; a date on a whole minute is whole seconds too.
      const precision = !date ? 'no date' : date.getUTCMilliseconds() ? 'ms' : 's';
      return `${precision}, service ${used?.ServiceName ?? '-'}, region ${used?.Region ?? '-'}`;
    });
  const newKey = async (userName: string): Promise<Credentials> => {
    const key = (await iam.send(new CreateAccessKeyCommand({ UserName: userName }))).AccessKey;
    return { accessKeyId: key?.AccessKeyId ?? '', secretAccessKey: key?.SecretAccessKey ?? '' };
  };

  const user = `${prefix}-probe`;
  const other = `${prefix}-other`;
  await iam.send(new CreateUserCommand({ UserName: user, Path: '/rotated/' }));
  await iam.send(new CreateUserCommand({ UserName: other, Path: '/rotated/' }));
  const results: Record<string, Outcome> = {};

  const fresh = await newKey(user);
  results['lastUsed of a key never used'] = await lastUsed(fresh.accessKeyId);
  results['sts with a key just created'] = await whoAmI(fresh);
  results['lastUsed after an sts call'] = await lastUsed(fresh.accessKeyId);
  results['sts with a wrong secret'] = await whoAmI({ ...fresh, secretAccessKey: 'x'.repeat(40) });
  const unused = await newKey(other);
  await whoAmI({ ...unused, secretAccessKey: 'x'.repeat(40) });
  results['lastUsed after a wrong-secret call'] = await lastUsed(unused.accessKeyId);
  await iam.send(new DeleteAccessKeyCommand({ UserName: other, AccessKeyId: unused.accessKeyId }));
  results['sts with an unknown key id'] = await whoAmI({
    accessKeyId: 'AKIAUNKNOWNUNKNOWN00',
    secretAccessKey: 'x'.repeat(40),
  });

  const second = await newKey(user);
  results['a third key'] = await outcome(async () => (await newKey(user)).accessKeyId.slice(0, 4));
  results['UpdateAccessKey Inactive'] = await outcome(async () => {
    await iam.send(
      new UpdateAccessKeyCommand({ UserName: user, AccessKeyId: second.accessKeyId, Status: 'Inactive' }),
    );
    return undefined;
  });
  results['sts with an Inactive key'] = await whoAmI(second);
  results['lastUsed after an Inactive-key call'] = await lastUsed(second.accessKeyId);
  results['UpdateAccessKey of another user'] = await outcome(async () => {
    await iam.send(
      new UpdateAccessKeyCommand({ UserName: other, AccessKeyId: second.accessKeyId, Status: 'Active' }),
    );
    return undefined;
  });
  results['DeleteAccessKey of another user'] = await outcome(async () => {
    await iam.send(new DeleteAccessKeyCommand({ UserName: other, AccessKeyId: second.accessKeyId }));
    return undefined;
  });
  await iam.send(new DeleteAccessKeyCommand({ UserName: user, AccessKeyId: second.accessKeyId }));
  results['sts with a deleted key'] = await whoAmI(second);
  results['lastUsed of a deleted key'] = await lastUsed(second.accessKeyId);
  results['DeleteAccessKey again'] = await outcome(async () => {
    await iam.send(new DeleteAccessKeyCommand({ UserName: user, AccessKeyId: second.accessKeyId }));
    return undefined;
  });
  results['ListAccessKeys'] = await outcome(async () => {
    const keys = (await iam.send(new ListAccessKeysCommand({ UserName: user }))).AccessKeyMetadata ?? [];
    return keys
      .map((k) => `${k.Status}, ${k.CreateDate?.getUTCMilliseconds() === 0 ? 's' : 'ms'}`)
      .join('; ');
  });
  results['GetUser arn'] = await outcome(async () =>
    (await iam.send(new GetUserCommand({ UserName: user }))).User?.Arn?.replace(/^.*:user/, 'user'),
  );
  results['GetUser unknown'] = await outcome(async () => {
    await iam.send(new GetUserCommand({ UserName: `${prefix}-nobody` }));
    return undefined;
  });
  results['ListAccessKeys unknown user'] = await outcome(async () => {
    await iam.send(new ListAccessKeysCommand({ UserName: `${prefix}-nobody` }));
    return undefined;
  });
  results['TagUser then ListUserTags'] = await outcome(async () => {
    await iam.send(
      new TagUserCommand({
        UserName: user,
        Tags: [
          { Key: 'iam-key-rotator:execution', Value: 'arn:aws:states:x:1:execution:m:n abc' },
          { Key: 'iam-key-rotator:claim', Value: `2026-01-01T00:00:00.000Z ${fresh.accessKeyId}` },
        ],
      }),
    );
    const tags = (await iam.send(new ListUserTagsCommand({ UserName: user }))).Tags ?? [];
    return tags.map((t) => t.Key).join(', ');
  });
  results['TagUser with an empty value'] = await outcome(async () => {
    await iam.send(
      new TagUserCommand({ UserName: user, Tags: [{ Key: 'iam-key-rotator:claim', Value: '' }] }),
    );
    return undefined;
  });
  results['ListUserTags after a tag is overwritten'] = await outcome(async () => {
    const tags = (await iam.send(new ListUserTagsCommand({ UserName: user }))).Tags ?? [];
    return tags.map((t) => `${t.Key}=${t.Value}`).join(', ');
  });
  results['ListUserTags of a user without tags'] = await outcome(async () =>
    String((await iam.send(new ListUserTagsCommand({ UserName: other }))).Tags?.length ?? 'no list'),
  );
  results['CreateAccessKey for an unknown user'] = await outcome(async () => {
    await iam.send(new CreateAccessKeyCommand({ UserName: `${prefix}-nobody` }));
    return undefined;
  });

  const key = (await kms.send(new CreateKeyCommand({}))).KeyMetadata?.KeyId ?? '';
  // A role that may only read users, as a function's role would be with an action missing.
  const role = `${prefix}-role`;
  const admin = (await new STSClient(config()).send(new GetCallerIdentityCommand({}))).Arn;
  const roleArn = (
    await iam.send(
      new CreateRoleCommand({
        RoleName: role,
        AssumeRolePolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Principal: { AWS: admin }, Action: 'sts:AssumeRole' }],
        }),
      }),
    )
  ).Role?.Arn;
  await iam.send(
    new PutRolePolicyCommand({
      RoleName: role,
      PolicyName: 'read-users',
      PolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: 'iam:GetUser', Resource: '*' }],
      }),
    }),
  );
  const session = (
    await new STSClient(config()).send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: 'probe' }))
  ).Credentials;
  const asRole = {
    accessKeyId: session?.AccessKeyId ?? '',
    secretAccessKey: session?.SecretAccessKey ?? '',
    sessionToken: session?.SessionToken ?? '',
  };
  results['iam:ListAccessKeys by a role without it'] = await outcome(
    async () => {
      await new IAMClient(config(asRole)).send(new ListAccessKeysCommand({ UserName: user }));
      return undefined;
    },
    { message: true },
  );
  results['kms:Encrypt by a role without it'] = await outcome(
    async () => {
      await new KMSClient(config(asRole)).send(
        new EncryptCommand({ KeyId: key, Plaintext: Buffer.from('s') }),
      );
      return undefined;
    },
    { message: true },
  );
  const otherKey = (await kms.send(new CreateKeyCommand({}))).KeyMetadata?.KeyId ?? '';
  const context = { 'iam-key-rotator:purpose': 'new-secret', 'iam-key-rotator:user': user };
  const sealed = (
    await kms.send(
      new EncryptCommand({ KeyId: key, Plaintext: Buffer.from('s'), EncryptionContext: context }),
    )
  ).CiphertextBlob;
  const decrypt = (keyId: string, encryptionContext: Record<string, string>) =>
    outcome(async () => {
      const out = await kms.send(
        new DecryptCommand({ KeyId: keyId, CiphertextBlob: sealed, EncryptionContext: encryptionContext }),
      );
      return Buffer.from(out.Plaintext ?? []).toString('utf8');
    });
  results['Decrypt with the same context'] = await decrypt(key, context);
  results['Decrypt with another purpose'] = await decrypt(key, {
    ...context,
    'iam-key-rotator:purpose': 'previous-secret',
  });
  results['Decrypt without context'] = await decrypt(key, {});
  results['Decrypt naming another key'] = await decrypt(otherKey, context);
  Object.assign(results, await macProbes(kms, new KMSClient(config(asRole)), outcome));
  // Names and ids differ per run; the table shows them as <user>, <role> and <key>.
  const shown = (seen: string) =>
    seen.replaceAll(user, '<user>').replaceAll(role, '<role>').replaceAll(key, '<key>');
  return Object.fromEntries(Object.entries(results).map(([name, seen]) => [name, shown(seen)]));
}
