import {
  CreateAccessKeyCommand,
  CreateUserCommand,
  DeleteAccessKeyCommand,
  GetAccessKeyLastUsedCommand,
  UpdateAccessKeyCommand,
} from '@aws-sdk/client-iam';
import { DescribeKeyCommand } from '@aws-sdk/client-kms';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { describe, expect, it } from 'vitest';
import { clients, failure, uniqueName, useEmulator } from './helpers.js';

const emulator = useEmulator();

async function userWithKey() {
  const { iam } = clients(emulator());
  const userName = uniqueName('signer');
  await iam.send(new CreateUserCommand({ UserName: userName }));
  const { AccessKey } = await iam.send(new CreateAccessKeyCommand({ UserName: userName }));
  return {
    userName,
    accessKeyId: AccessKey?.AccessKeyId ?? '',
    secretAccessKey: AccessKey?.SecretAccessKey ?? '',
  };
}

describe('SigV4 verification', () => {
  it('accepts a correctly signed request from a new key', async () => {
    const key = await userWithKey();
    const { Arn } = await clients(emulator(), key).sts.send(new GetCallerIdentityCommand({}));
    expect(Arn).toBe(`arn:aws:iam::123456789012:user/${key.userName}`);
  });

  it('answers SignatureDoesNotMatch (403) for a wrong secret', async () => {
    const key = await userWithKey();
    const wrong = {
      ...key,
      secretAccessKey: key.secretAccessKey.replace(/^./, (c) => (c === 'A' ? 'B' : 'A')),
    };
    const error = await failure(clients(emulator(), wrong).sts.send(new GetCallerIdentityCommand({})));
    expect(error.name).toBe('SignatureDoesNotMatch');
    expect(error.message).toMatch(/^The request signature we calculated does not match/);
    expect(error.$metadata?.httpStatusCode).toBe(403);
  });

  it('answers InvalidClientTokenId (403) for a deleted key', async () => {
    const key = await userWithKey();
    await clients(emulator()).iam.send(
      new DeleteAccessKeyCommand({ UserName: key.userName, AccessKeyId: key.accessKeyId }),
    );
    const error = await failure(clients(emulator(), key).iam.send(new CreateUserCommand({ UserName: 'x' })));
    expect(error.name).toBe('InvalidClientTokenId');
    expect(error.message).toBe('The security token included in the request is invalid.');
    expect(error.$metadata?.httpStatusCode).toBe(403);
  });

  it('answers InvalidClientTokenId for an Inactive key, and accepts it again once reactivated', async () => {
    const key = await userWithKey();
    const { iam } = clients(emulator());
    await iam.send(
      new UpdateAccessKeyCommand({
        UserName: key.userName,
        AccessKeyId: key.accessKeyId,
        Status: 'Inactive',
      }),
    );
    const error = await failure(clients(emulator(), key).sts.send(new GetCallerIdentityCommand({})));
    expect(error.name).toBe('InvalidClientTokenId');

    await iam.send(
      new UpdateAccessKeyCommand({ UserName: key.userName, AccessKeyId: key.accessKeyId, Status: 'Active' }),
    );
    await expect(clients(emulator(), key).sts.send(new GetCallerIdentityCommand({}))).resolves.toBeDefined();
  });

  it('uses the KMS error codes (UnrecognizedClientException, InvalidSignatureException, 400) for KMS', async () => {
    const key = await userWithKey();
    const wrong = { ...key, secretAccessKey: 'x'.repeat(40) };
    const badSecret = await failure(
      clients(emulator(), wrong).kms.send(new DescribeKeyCommand({ KeyId: 'alias/x' })),
    );
    expect(badSecret.name).toBe('InvalidSignatureException');
    expect(badSecret.$metadata?.httpStatusCode).toBe(400);

    const unknown = { accessKeyId: 'AKIA' + 'Q'.repeat(16), secretAccessKey: key.secretAccessKey };
    const badKey = await failure(
      clients(emulator(), unknown).kms.send(new DescribeKeyCommand({ KeyId: 'alias/x' })),
    );
    expect(badKey.name).toBe('UnrecognizedClientException');
    expect(badKey.message).toBe('The security token included in the request is invalid.');
    expect(badKey.$metadata?.httpStatusCode).toBe(400);
  });

  it('answers MissingAuthenticationToken (403) for an unsigned request', async () => {
    const response = await fetch(emulator().endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'Action=GetCallerIdentity&Version=2011-06-15',
    });
    expect(response.status).toBe(403);
    const text = await response.text();
    expect(text).toContain('<Code>MissingAuthenticationToken</Code>');
    expect(text).toContain('<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">');
  });

  it('rejects a request signed more than 15 minutes ago with SignatureDoesNotMatch', async () => {
    const key = await userWithKey();
    const { sts } = clients(emulator(), key);
    // The SDK signs with its own notion of "now", which systemClockOffset shifts.
    sts.config.systemClockOffset = -20 * 60 * 1000;
    const error = await failure(sts.send(new GetCallerIdentityCommand({})));
    expect(error.name).toBe('SignatureDoesNotMatch');
    expect(error.message).toMatch(
      /^Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z \(\d{8}T\d{6}Z - 15 min\.\)$/,
    );
  });
});

describe('propagation of new access keys', () => {
  it('refuses a new key with InvalidClientTokenId until the propagation delay has passed', async () => {
    emulator().setPropagationMs(200);
    try {
      const key = await userWithKey();
      const { sts } = clients(emulator(), key);
      const error = await failure(sts.send(new GetCallerIdentityCommand({})));
      expect(error.name).toBe('InvalidClientTokenId');
      await new Promise((resolve) => setTimeout(resolve, 250));
      await expect(sts.send(new GetCallerIdentityCommand({}))).resolves.toMatchObject({
        Account: '123456789012',
      });
    } finally {
      emulator().setPropagationMs(0);
    }
  });

  it('lets seeded keys and the admin key work at once', async () => {
    emulator().setPropagationMs(60_000);
    try {
      const userName = uniqueName('seeded');
      emulator().createUser(userName);
      const seeded = emulator().createAccessKey(userName);
      await expect(
        clients(emulator(), seeded).sts.send(new GetCallerIdentityCommand({})),
      ).resolves.toBeDefined();
      await expect(clients(emulator()).sts.send(new GetCallerIdentityCommand({}))).resolves.toBeDefined();
    } finally {
      emulator().setPropagationMs(0);
    }
  });
});

describe('last use of access keys', () => {
  it('records time, service and region of the last authenticated call', async () => {
    const key = await userWithKey();
    const before = Date.now() - 1000;
    await clients(emulator(), key).sts.send(new GetCallerIdentityCommand({}));
    const { AccessKeyLastUsed, UserName } = await clients(emulator()).iam.send(
      new GetAccessKeyLastUsedCommand({ AccessKeyId: key.accessKeyId }),
    );
    expect(UserName).toBe(key.userName);
    expect(AccessKeyLastUsed?.ServiceName).toBe('sts');
    expect(AccessKeyLastUsed?.Region).toBe('us-east-1');
    expect(AccessKeyLastUsed?.LastUsedDate?.getTime()).toBeGreaterThanOrEqual(before);
    expect(emulator().listAccessKeys(key.userName)[0]?.lastUsed?.service).toBe('sts');
  });
});
