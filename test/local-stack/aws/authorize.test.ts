import {
  CreateAccessKeyCommand,
  CreateRoleCommand,
  GetUserCommand,
  ListAccessKeysCommand,
  PutRolePolicyCommand,
  TagUserCommand,
} from '@aws-sdk/client-iam';
import { CreateKeyCommand, DecryptCommand, EncryptCommand } from '@aws-sdk/client-kms';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { AssumeRoleCommand, GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { beforeAll, describe, expect, it } from 'vitest';
import { clients, failure, LAMBDA_TRUST, roleSession, uniqueName, useEmulator } from './helpers.js';

const emulator = useEmulator();
const ACCOUNT = '123456789012';

let userName: string;
let keyArn: string;

beforeAll(async () => {
  const aws = emulator();
  userName = uniqueName('target');
  aws.createUser(userName, '/rotated/');
  const key = await clients(aws).kms.send(new CreateKeyCommand({}));
  keyArn = key.KeyMetadata?.Arn ?? '';
});

const ROTATED = `arn:aws:iam::${ACCOUNT}:user/rotated/*`;

describe('IAM policy evaluation on the wire', () => {
  it('IAM: a call no policy allows is AccessDenied, HTTP 403, in AWS words, and recorded', async () => {
    const { name, credentials } = await roleSession(emulator(), [
      { Effect: 'Allow', Action: 'iam:ListAccessKeys', Resource: ROTATED },
    ]);
    const { iam } = clients(emulator(), credentials);
    await iam.send(new ListAccessKeysCommand({ UserName: userName }));
    const error = await failure(iam.send(new CreateAccessKeyCommand({ UserName: userName })));
    expect(error.name).toBe('AccessDenied');
    expect(error.$metadata?.httpStatusCode).toBe(403);
    const principal = `arn:aws:sts::${ACCOUNT}:assumed-role/${name}/session`;
    expect(error.message).toBe(
      `User: ${principal} is not authorized to perform: iam:CreateAccessKey on resource: user ${userName} ` +
        'because no identity-based policy allows the iam:CreateAccessKey action',
    );
    expect(emulator().denials()).toContainEqual({
      action: 'iam:CreateAccessKey',
      resource: `arn:aws:iam::${ACCOUNT}:user/rotated/${userName}`,
      principal,
      roleArn: `arn:aws:iam::${ACCOUNT}:role/${name}`,
      reason: 'implicit-deny',
    });
    const listed = (await (await fetch(`${emulator().endpoint}/__admin/denials`)).json()) as {
      denials: unknown[];
    };
    expect(listed.denials).toContainEqual(
      expect.objectContaining({ action: 'iam:CreateAccessKey', principal }),
    );
  });

  it('IAM: an explicit Deny says so', async () => {
    const { name, credentials } = await roleSession(emulator(), [
      { Effect: 'Allow', Action: 'iam:*', Resource: '*' },
      { Effect: 'Deny', Action: 'iam:GetUser', Resource: ROTATED },
    ]);
    const error = await failure(
      clients(emulator(), credentials).iam.send(new GetUserCommand({ UserName: userName })),
    );
    expect(error.message).toBe(
      `User: arn:aws:sts::${ACCOUNT}:assumed-role/${name}/session is not authorized to perform: iam:GetUser ` +
        `on resource: user ${userName} with an explicit deny in an identity-based policy`,
    );
  });

  it('IAM: a path-scoped grant does not cover a user outside the path, nor one that does not exist', async () => {
    const outside = uniqueName('outside');
    emulator().createUser(outside);
    const { credentials } = await roleSession(emulator(), [
      { Effect: 'Allow', Action: 'iam:GetUser', Resource: ROTATED },
    ]);
    const { iam } = clients(emulator(), credentials);
    expect((await iam.send(new GetUserCommand({ UserName: userName }))).User?.UserName).toBe(userName);
    expect((await failure(iam.send(new GetUserCommand({ UserName: outside })))).name).toBe('AccessDenied');
    expect((await failure(iam.send(new GetUserCommand({ UserName: 'no-such-user' })))).name).toBe(
      'AccessDenied',
    );
  });

  it('IAM: TagUser limited to listed tag keys with ForAllValues:StringEquals on aws:TagKeys', async () => {
    const { credentials } = await roleSession(emulator(), [
      {
        Effect: 'Allow',
        Action: 'iam:TagUser',
        Resource: ROTATED,
        Condition: { 'ForAllValues:StringEquals': { 'aws:TagKeys': ['iam-key-rotator:claim'] } },
      },
    ]);
    const { iam } = clients(emulator(), credentials);
    await iam.send(
      new TagUserCommand({ UserName: userName, Tags: [{ Key: 'iam-key-rotator:claim', Value: 'x' }] }),
    );
    const error = await failure(
      iam.send(
        new TagUserCommand({
          UserName: userName,
          Tags: [
            { Key: 'iam-key-rotator:claim', Value: 'x' },
            { Key: 'owner', Value: 'me' },
          ],
        }),
      ),
    );
    expect(error.name).toBe('AccessDenied');
  });

  it('KMS: AccessDeniedException, HTTP 400, on the key the ciphertext names, by encryption context', async () => {
    const purpose = 'kms:EncryptionContext:purpose';
    const { name, credentials } = await roleSession(emulator(), [
      { Effect: 'Allow', Action: 'kms:Encrypt', Resource: keyArn },
      {
        Effect: 'Allow',
        Action: 'kms:Decrypt',
        Resource: keyArn,
        Condition: { StringEquals: { [purpose]: 'new-secret' } },
      },
    ]);
    const { kms } = clients(emulator(), credentials);
    const seal = async (purposeValue: string) =>
      (
        await kms.send(
          new EncryptCommand({
            KeyId: keyArn,
            Plaintext: Buffer.from('s'),
            EncryptionContext: { purpose: purposeValue },
          }),
        )
      ).CiphertextBlob;
    const open = await kms.send(
      new DecryptCommand({
        CiphertextBlob: await seal('new-secret'),
        EncryptionContext: { purpose: 'new-secret' },
      }),
    );
    expect(Buffer.from(open.Plaintext ?? []).toString()).toBe('s');
    const error = await failure(
      kms.send(
        new DecryptCommand({
          CiphertextBlob: await seal('previous-secret'),
          EncryptionContext: { purpose: 'previous-secret' },
        }),
      ),
    );
    expect(error.name).toBe('AccessDeniedException');
    expect(error.$metadata?.httpStatusCode).toBe(400);
    expect(error.message).toBe(
      `User: arn:aws:sts::${ACCOUNT}:assumed-role/${name}/session is not authorized to perform: kms:Decrypt ` +
        `on resource: ${keyArn} because no identity-based policy allows the kms:Decrypt action`,
    );
  });

  it('Secrets Manager: AccessDeniedException, HTTP 400', async () => {
    const secret = emulator().createSecret(uniqueName('secret'), 'value');
    const { credentials } = await roleSession(emulator(), [
      { Effect: 'Allow', Action: 'kms:Encrypt', Resource: '*' },
    ]);
    const error = await failure(
      clients(emulator(), credentials).secretsManager.send(
        new GetSecretValueCommand({ SecretId: secret.arn }),
      ),
    );
    expect(error.name).toBe('AccessDeniedException');
    expect(error.$metadata?.httpStatusCode).toBe(400);
    expect(error.message).toContain(`secretsmanager:GetSecretValue on resource: ${secret.arn}`);
  });

  it('STS: GetCallerIdentity needs no permission, even for a role without policies', async () => {
    const { name, credentials } = await roleSession(emulator(), undefined);
    const { sts, iam } = clients(emulator(), credentials);
    expect((await sts.send(new GetCallerIdentityCommand({}))).Arn).toBe(
      `arn:aws:sts::${ACCOUNT}:assumed-role/${name}/session`,
    );
    expect((await failure(iam.send(new ListAccessKeysCommand({ UserName: userName })))).name).toBe(
      'AccessDenied',
    );
    const assume = await failure(
      sts.send(
        new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${ACCOUNT}:role/${name}`, RoleSessionName: 'again' }),
      ),
    );
    expect(assume.name).toBe('AccessDenied');
    expect(assume.$metadata?.httpStatusCode).toBe(403);
  });

  it('local-admin, IAM users and sessions of roles the emulator does not hold are not evaluated', async () => {
    const aws = emulator();
    const user = uniqueName('plain');
    aws.createUser(user);
    const key = aws.createAccessKey(user);
    await clients(aws, key).iam.send(new ListAccessKeysCommand({ UserName: userName }));
    const { Credentials: c } = await clients(aws).sts.send(
      new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${ACCOUNT}:role/not-emulated`, RoleSessionName: 's1' }),
    );
    const unheld = {
      accessKeyId: c?.AccessKeyId ?? '',
      secretAccessKey: c?.SecretAccessKey ?? '',
      sessionToken: c?.SessionToken ?? '',
    };
    await clients(aws, unheld).iam.send(new ListAccessKeysCommand({ UserName: userName }));
  });

  it('PutRolePolicy refuses a malformed document with MalformedPolicyDocument', async () => {
    const admin = clients(emulator());
    const name = uniqueName('bad');
    await admin.iam.send(new CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: LAMBDA_TRUST }));
    const error = await failure(
      admin.iam.send(
        new PutRolePolicyCommand({
          RoleName: name,
          PolicyName: 'p',
          PolicyDocument: JSON.stringify({
            Version: '2012-10-17',
            Statement: [{ Effect: 'Allow', Action: 'a:b' }],
          }),
        }),
      ),
    );
    expect(error.name).toBe('MalformedPolicyDocumentException');
    expect(error.$metadata?.httpStatusCode).toBe(400);
  });
});
